//! Criterion benchmarks of the store in memory: puts (single and batched),
//! Kubernetes-style txn puts, ranges, watch delivery and compaction.
//!
//! `cargo bench -p kubemu-store --bench store` prints per-element throughput.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubemu_store::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: usize = 10_000;

fn key(i: usize) -> Vec<u8> {
    format!("/registry/pods/default/pod-{i:08}").into_bytes()
}

fn items(n: usize, value: &[u8]) -> Vec<(Bytes, Bytes)> {
    (0..n)
        .map(|i| (Bytes::from(key(i)), Bytes::from(value)))
        .collect()
}

fn store() -> Store {
    Store::open(Options {
        manual_clock: true,
        limits: Limits {
            quota_bytes: i64::MAX,
            ..Limits::default()
        },
        ..Options::default()
    })
    .unwrap()
}

/// Times `f` per iteration and compacts after each, outside the timing, so
/// history does not pile up across iterations.
fn timed_compacting(b: &mut criterion::Bencher<'_>, s: &Store, mut f: impl FnMut()) {
    b.iter_custom(|iters| {
        let mut total = std::time::Duration::ZERO;
        for _ in 0..iters {
            let t = std::time::Instant::now();
            f();
            total += t.elapsed();
            s.compact(s.revision()).unwrap();
        }
        total
    })
}

fn puts(c: &mut Criterion) {
    let mut g = c.benchmark_group("put");
    g.throughput(Throughput::Elements(N as u64));
    let value = vec![b'x'; 256];
    let batch = items(N, &value);
    g.bench_function("put_many_new_keys_10k_x256B", |b| {
        b.iter_batched_ref(
            store,
            |s| black_box(s.put_many(&batch, 0).unwrap()),
            BatchSize::PerIteration,
        )
    });
    let s = store();
    s.put_many(&batch, 0).unwrap();
    // Updates grow history: compact between iterations, outside the timing.
    g.bench_function("put_many_update_10k_x256B", |b| {
        timed_compacting(b, &s, || {
            black_box(s.put_many(&batch, 0).unwrap());
        })
    });
    let reqs: Vec<PutRequest> = (0..N)
        .map(|i| PutRequest {
            key: key(i),
            value: value.clone(),
            ..Default::default()
        })
        .collect();
    g.bench_function("put_single_10k_x256B", |b| {
        timed_compacting(b, &s, || {
            for r in &reqs {
                black_box(s.put(r).unwrap());
            }
        })
    });
    g.bench_function("txn_cas_put_10k_x256B", |b| {
        timed_compacting(b, &s, || {
            for r in &reqs {
                let cur = s
                    .range(&RangeRequest {
                        key: r.key.clone(),
                        keys_only: true,
                        ..Default::default()
                    })
                    .unwrap();
                let m = cur.kvs[0].mod_revision;
                let t = TxnRequest {
                    compare: vec![Compare {
                        key: r.key.clone(),
                        range_end: vec![],
                        target: CompareTarget::Mod,
                        result: CompareResult::Equal,
                        operand: CompareOperand::Int(m),
                    }],
                    success: vec![RequestOp::Put(r.clone())],
                    failure: vec![],
                };
                assert!(s.txn(&t).unwrap().succeeded);
            }
        })
    });
    g.finish();
}

fn ranges(c: &mut Criterion) {
    let mut g = c.benchmark_group("range");
    let s = store();
    s.put_many(&items(100_000, &[b'x'; 256]), 0).unwrap();
    g.throughput(Throughput::Elements(1));
    let one = RangeRequest {
        key: key(4242),
        ..Default::default()
    };
    g.bench_function("get_one_of_100k", |b| {
        b.iter(|| black_box(s.range(&one).unwrap()))
    });
    g.throughput(Throughput::Elements(100_000));
    let all = RangeRequest {
        key: b"/registry/pods/".to_vec(),
        range_end: b"/registry/pods0".to_vec(),
        ..Default::default()
    };
    g.bench_function("list_100k", |b| {
        b.iter(|| black_box(s.range(&all).unwrap().kvs.len()))
    });
    let page = RangeRequest {
        limit: 500,
        ..all.clone()
    };
    g.throughput(Throughput::Elements(500));
    g.bench_function("list_page_500_of_100k", |b| {
        b.iter(|| black_box(s.range(&page).unwrap().kvs.len()))
    });
    g.finish();
}

fn compaction(c: &mut Criterion) {
    let mut g = c.benchmark_group("compact");
    g.throughput(Throughput::Elements(N as u64 * 4));
    let batch = items(N, &[b'x'; 64]);
    g.bench_function("compact_40k_revisions", |b| {
        b.iter_batched_ref(
            || {
                let s = store();
                for _ in 0..4 {
                    s.put_many(&batch, 0).unwrap();
                }
                s
            },
            |s| black_box(s.compact(s.revision()).unwrap()),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn watch(c: &mut Criterion) {
    let mut g = c.benchmark_group("watch");
    g.throughput(Throughput::Elements(N as u64));
    let s = store();
    let stream = s.watch_stream(1 << 22);
    for i in 0..N {
        stream
            .watch(&WatchRequest {
                key: key(i),
                ..Default::default()
            })
            .unwrap();
    }
    stream.poll(usize::MAX, None);
    let batch = items(N, &[b'x'; 64]);
    g.bench_function("deliver_10k_events_to_10k_key_watchers", |b| {
        b.iter(|| {
            s.put_many(&batch, 0).unwrap();
            let mut n = 0;
            while n < N {
                n += stream
                    .poll(usize::MAX, None)
                    .iter()
                    .map(|r| r.events.len())
                    .sum::<usize>();
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3));
    targets = puts, ranges, compaction, watch
}
criterion_main!(benches);
