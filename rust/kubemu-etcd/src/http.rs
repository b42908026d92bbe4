//! The plain-HTTP endpoints etcd serves beside gRPC on its client URL:
//! `/health` and `/version` (HTTP/1.1 or HTTP/2, same port).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use kubemu_store as ks;

use crate::services::{Ctx, ETCD_VERSION};

/// Adds `/health` and `/version` to the gRPC router.
pub fn routes(router: Router, ctx: Ctx) -> Router {
    router
        .route("/health", get(move || health(ctx.clone())))
        .route("/version", get(version))
}

/// etcd 3.5's `/health`: 200 `{"health":"true","reason":""}` when the store
/// serves reads and has no alarm; 503 with the reason otherwise.
async fn health(ctx: Ctx) -> impl IntoResponse {
    let reason = if let Some(a) = ctx.store.alarms().first() {
        Some(format!("ALARM {}", a.name()))
    } else {
        // A read through the whole path, as etcd's check does (a QGET).
        let probe = ks::RangeRequest {
            key: b"health".to_vec(),
            ..Default::default()
        };
        ctx.store.range(&probe).err().map(|e| e.to_string())
    };
    let (code, body) = match reason {
        None => (
            StatusCode::OK,
            r#"{"health":"true","reason":""}"#.to_string(),
        ),
        Some(r) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(r#"{{"health":"false","reason":"{}"}}"#, r.replace('"', "'")),
        ),
    };
    (code, [("content-type", "application/json")], body)
}

/// `/version`: the server and cluster versions, as etcd reports them.
async fn version() -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        format!(r#"{{"etcdserver":"{ETCD_VERSION}","etcdcluster":"{ETCD_VERSION}"}}"#),
    )
}
