//! `EtcdServer`: the etcd v3 endpoint over a `Store`, started in-process.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::errors::invalid;
use crate::store::Store;

#[pyclass(module = "kubemu._core", frozen)]
pub struct EtcdServer {
    server: Mutex<Option<kubemu_etcd::EtcdServer>>,
    addr: SocketAddr,
}

#[pymethods]
impl EtcdServer {
    #[new]
    #[pyo3(signature = (store, host="127.0.0.1", port=2379, *, name="default"))]
    fn new(py: Python<'_>, store: &Store, host: &str, port: u16, name: &str) -> PyResult<Self> {
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| invalid(format!("bad listen address {host}:{port}: {e}")))?
            .next()
            .ok_or_else(|| invalid(format!("bad listen address {host}:{port}")))?;
        let member = kubemu_etcd::Member {
            name: name.to_string(),
            ..Default::default()
        };
        let shared: Arc<kubemu_store::Store> = store.shared();
        let server = py
            .detach(|| kubemu_etcd::EtcdServer::start(shared, addr, member))
            .map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!("cannot listen on {addr}: {e}"))
            })?;
        let addr = server.local_addr();
        Ok(Self {
            server: Mutex::new(Some(server)),
            addr,
        })
    }

    /// "host:port" actually bound (port 0 picks a free one).
    #[getter]
    fn address(&self) -> String {
        self.addr.to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops serving; open streams end. Idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let server = self.server.lock().take();
        if let Some(mut s) = server {
            py.detach(|| s.stop())
                .map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        }
        Ok(())
    }
}
