//! Starting and stopping the gRPC server on its own tokio runtime thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use kubemu_store::Store;
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use crate::pb::etcdserverpb as pb;
use crate::pb::health as hpb;
use crate::services::Ctx;

/// Largest request accepted: etcd's 1.5 MiB request limit plus its 512 KiB
/// allowance for gRPC overhead.
const MAX_RECV: usize = 1536 * 1024 + 512 * 1024;

/// A running etcd endpoint. Dropping it stops the server.
pub struct EtcdServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

/// Identity of the single member.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub cluster_id: u64,
    pub member_id: u64,
}

impl Default for Member {
    fn default() -> Self {
        Self {
            name: "default".into(),
            cluster_id: 0x6b75_6265_6d75_0001,
            member_id: 0x6b75_6265_6d75_0002,
        }
    }
}

impl EtcdServer {
    /// Binds `addr` (port 0 picks one) and serves `store` until stopped.
    pub fn start(store: Arc<Store>, addr: SocketAddr, member: Member) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kubemu-etcd")
            .enable_all()
            .build()?;
        let listener = rt.block_on(async { listen(addr) })?;
        let local = listener.local_addr()?;
        let ctx = Ctx {
            store,
            cluster_id: member.cluster_id,
            member_id: member.member_id,
            name: member.name,
            client_urls: vec![format!("http://{local}")],
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kubemu-etcd-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut routes = tonic::service::Routes::default()
                        .add_service(
                            pb::kv_server::KvServer::new(ctx.clone())
                                .max_decoding_message_size(MAX_RECV),
                        )
                        .add_service(
                            pb::watch_server::WatchServer::new(ctx.clone())
                                .max_decoding_message_size(MAX_RECV),
                        )
                        .add_service(pb::lease_server::LeaseServer::new(ctx.clone()))
                        .add_service(pb::cluster_server::ClusterServer::new(ctx.clone()))
                        .add_service(pb::maintenance_server::MaintenanceServer::new(ctx.clone()))
                        .add_service(hpb::health_server::HealthServer::new(ctx.clone()));
                    let router = std::mem::take(routes.axum_router_mut());
                    *routes.axum_router_mut() = crate::http::routes(router, ctx);
                    Server::builder()
                        .tcp_nodelay(true)
                        // HTTP/1.1 for /health and /version, as etcd's client port.
                        .accept_http1(true)
                        .add_routes(routes.prepare())
                        .serve_with_incoming_shutdown(
                            // Nagle off on every accepted connection: a
                            // response written as two frames would otherwise
                            // wait for the client's delayed ACK (40 ms).
                            TcpIncoming::from(listener).with_nodelay(Some(true)),
                            async {
                                let _ = stop_rx.await;
                            },
                        )
                        .await
                        .map_err(|e| e.to_string())
                })
            })?;
        Ok(Self {
            addr: local,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends open streams and waits for the server thread.
    pub fn stop(&mut self) -> Result<(), String> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| "etcd server thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

/// Binds with a deep accept queue: a thousand clients connecting at once (as
/// `etcdctl check perf --load=xl` does) must not overflow it, or the kernel
/// drops SYNs and those clients wait a full second to retry. Go's listeners
/// (real etcd) use the system maximum too.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accept queue length asked for (the kernel caps it at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
