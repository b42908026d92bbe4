//! A fixed workload for profilers (`valgrind --tool=callgrind`): 50k puts in
//! batches of 1,000 (or one by one with a second argument `single`) into an
//! in-memory store.
use kubemu_store::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let s = Store::open(Options {
        manual_clock: true,
        ..Options::default()
    })
    .unwrap();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let items: Vec<(Bytes, Bytes)> = (0..n)
        .map(|i| {
            (
                Bytes::from(format!("/registry/pods/default/pod-{i:08}").as_bytes()),
                Bytes::from(&[b'x'; 256][..]),
            )
        })
        .collect();
    let single = std::env::args().nth(2).is_some_and(|a| a == "single");
    let t = std::time::Instant::now();
    if single {
        for (k, v) in &items {
            s.put(&PutRequest {
                key: k.to_vec(),
                value: v.to_vec(),
                ..Default::default()
            })
            .unwrap();
        }
    } else {
        for chunk in items.chunks(1000) {
            s.put_many(chunk, 0).unwrap();
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!("{} puts in {:.3}s = {:.0}/s", n, dt, n as f64 / dt);
}
