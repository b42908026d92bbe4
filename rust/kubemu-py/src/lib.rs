//! `kubemu._core`: the thin PyO3 binding of the kubemu crates. It converts
//! types and releases the GIL around every call into Rust; semantics live in
//! the pure crates.

mod errors;
mod etcd;
mod eventfd;
mod objects;
mod route;
mod sched;
mod store;
mod types;

use pyo3::prelude::*;

/// mimalloc: the store allocates many small objects (keys, values, events);
/// it is markedly faster than glibc malloc for that pattern (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<store::Store>()?;
    m.add_class::<store::WatchStream>()?;
    m.add_class::<etcd::EtcdServer>()?;
    m.add_class::<types::KeyValue>()?;
    m.add_class::<types::Event>()?;
    m.add_class::<types::PutResponse>()?;
    m.add_class::<types::RangeResponse>()?;
    m.add_class::<types::DeleteRangeResponse>()?;
    m.add_class::<types::TxnResponse>()?;
    m.add_class::<types::Compare>()?;
    m.add_class::<types::Op>()?;
    m.add_class::<types::LeaseGrant>()?;
    m.add_class::<types::LeaseTimeToLive>()?;
    m.add_class::<types::Status>()?;
    m.add_class::<types::WatchResponse>()?;
    m.add_function(wrap_pyfunction!(store::snapshot_restore, m)?)?;
    sched::register(m)?;
    objects::register(m)?;
    m.add_class::<route::WatchRouter>()?;
    Ok(())
}
