//! Drives one etcd endpoint with N concurrent clients for a fixed time and
//! prints one JSON line of results.
//!
//! The client is the `etcd-client` crate, not kubemu's code, so both servers
//! are measured through the same independent implementation of the protocol.
//!
//! ```text
//! kubemu-etcd-bench --endpoint 127.0.0.1:2379 --op put|txn-put|range \
//!     --clients 100 [--conns 100] [--seconds 5] [--keys 10000] [--value-size 256]
//! ```
//!
//! Operations, as Kubernetes uses etcd:
//! - `put`: a put of a random key of the key space;
//! - `txn-put`: the apiserver's optimistic update: `if mod_revision(key) ==
//!   last seen then put else get`; each client owns its keys, so it knows the
//!   revision it last wrote and the compare normally succeeds;
//! - `range`: a linearizable get of one random existing key.

use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, KvClient, Txn, TxnOp, TxnOpResponse};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Put,
    TxnPut,
    Range,
}

#[derive(Debug)]
struct Args {
    endpoint: String,
    op: Op,
    clients: usize,
    conns: usize,
    seconds: f64,
    keys: usize,
    value_size: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: "127.0.0.1:2379".into(),
        op: Op::Put,
        clients: 1,
        conns: 0,
        seconds: 5.0,
        keys: 10_000,
        value_size: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = val()?,
            "--op" => {
                a.op = match val()?.as_str() {
                    "put" => Op::Put,
                    "txn-put" => Op::TxnPut,
                    "range" => Op::Range,
                    o => return Err(format!("unknown --op {o:?} (put, txn-put, range)")),
                }
            }
            "--clients" => a.clients = num(val()?)?,
            "--conns" => a.conns = num(val()?)?,
            "--keys" => a.keys = num(val()?)?,
            "--value-size" => a.value_size = num(val()?)?,
            "--seconds" => a.seconds = val()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "-h" | "--help" => {
                return Err(
                    "usage: kubemu-etcd-bench --endpoint HOST:PORT --op put|txn-put|range \
                     --clients N [--conns N] [--seconds S] [--keys N] [--value-size N]"
                        .into(),
                )
            }
            f => return Err(format!("unknown flag {f}")),
        }
    }
    if a.clients == 0 || a.keys == 0 || a.seconds <= 0.0 {
        return Err("--clients, --keys and --seconds must be positive".into());
    }
    if a.conns == 0 {
        // etcd's own benchmark docs pair 1,000 clients with 100 connections.
        a.conns = a.clients.min(100);
    }
    Ok(a)
}

/// xorshift64*: enough randomness for key choice, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn put_key(i: usize) -> String {
    format!("/bench/put/{i:08}")
}

fn txn_key(client: usize, j: usize) -> String {
    format!("/bench/txn/{client:05}/{j:06}")
}

/// The moment every client starts timing, after all of them set up.
struct Start {
    barrier: tokio::sync::Barrier,
    at: std::sync::OnceLock<Instant>,
}

impl Args {
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    conflicts: u64,
    first_error: Option<String>,
}

impl Tally {
    fn record<T>(&mut self, started: Instant, r: Result<T, etcd_client::Error>) -> Option<T> {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match r {
            Ok(v) => {
                self.latencies_us.push(us);
                Some(v)
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| e.to_string());
                None
            }
        }
    }
}

async fn run_client(
    id: usize,
    mut kv: KvClient,
    args: &Args,
    value: &[u8],
    start: &Start,
) -> Result<Tally, String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0x1000_0000_01B3));
    let mut t = Tally::default();
    // txn-put: this client's keys and the revision it last saw of each.
    let own = (args.keys / args.clients).clamp(1, 100);
    let mut revs = Vec::new();
    let mut setup_error = None;
    if args.op == Op::TxnPut {
        for j in 0..own {
            match kv.put(txn_key(id, j), value, None).await {
                Ok(r) => revs.push(r.header().map_or(0, |h| h.revision())),
                Err(e) => {
                    setup_error = Some(format!("setup put: {e}"));
                    break;
                }
            }
        }
    }
    // Every client starts timing together, once all set-up is done (or
    // failed: the others must not wait for it forever).
    start.barrier.wait().await;
    if let Some(e) = setup_error {
        return Err(e);
    }
    let deadline = *start.at.get_or_init(Instant::now) + args.duration();
    let mut j = 0;
    while Instant::now() < deadline {
        let started = Instant::now();
        match args.op {
            Op::Put => {
                let key = put_key(rng.below(args.keys));
                let r = kv.put(key, value, None).await;
                t.record(started, r);
            }
            Op::Range => {
                let key = put_key(rng.below(args.keys));
                let r = kv.get(key, None).await;
                t.record(started, r);
            }
            Op::TxnPut => {
                let key = txn_key(id, j);
                let txn = Txn::new()
                    .when([Compare::mod_revision(
                        key.clone(),
                        CompareOp::Equal,
                        revs[j],
                    )])
                    .and_then([TxnOp::put(key.clone(), value, None)])
                    .or_else([TxnOp::get(key, None)]);
                let r = kv.txn(txn).await;
                if let Some(resp) = t.record(started, r) {
                    if resp.succeeded() {
                        revs[j] = resp.header().map_or(0, |h| h.revision());
                    } else {
                        t.conflicts += 1;
                        if let Some(TxnOpResponse::Get(g)) = resp.op_responses().first() {
                            revs[j] = g.kvs().first().map_or(0, |kv| kv.mod_revision());
                        }
                    }
                }
                j = (j + 1) % own;
            }
        }
    }
    Ok(t)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn run(args: Args) -> Result<String, String> {
    let url = format!("http://{}", args.endpoint);
    let mut conns = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let c = Client::connect([url.as_str()], None)
            .await
            .map_err(|e| format!("connect {url}: {e}"))?;
        conns.push(c);
    }
    let value = vec![b'v'; args.value_size];
    if args.op == Op::Range {
        // The keys a range reads must exist.
        let mut kv = conns[0].kv_client();
        for i in 0..args.keys {
            kv.put(put_key(i), value.clone(), None)
                .await
                .map_err(|e| format!("setup put: {e}"))?;
        }
    }
    let args = std::sync::Arc::new(args);
    let value = std::sync::Arc::new(value);
    let start = std::sync::Arc::new(Start {
        barrier: tokio::sync::Barrier::new(args.clients),
        at: std::sync::OnceLock::new(),
    });
    let mut tasks = Vec::with_capacity(args.clients);
    for id in 0..args.clients {
        let kv = conns[id % conns.len()].kv_client();
        let (args, value, start) = (args.clone(), value.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            run_client(id, kv, &args, &value, &start).await
        }));
    }
    let mut all = Vec::new();
    let (mut errors, mut conflicts, mut first_error) = (0u64, 0u64, None);
    for task in tasks {
        let t = task.await.map_err(|e| format!("client task: {e}"))??;
        all.extend_from_slice(&t.latencies_us);
        errors += t.errors;
        conflicts += t.conflicts;
        first_error = first_error.or(t.first_error);
    }
    let elapsed = start
        .at
        .get()
        .map_or(args.seconds, |t| t.elapsed().as_secs_f64());
    all.sort_unstable();
    let op = match args.op {
        Op::Put => "put",
        Op::TxnPut => "txn-put",
        Op::Range => "range",
    };
    let mean = if all.is_empty() {
        0.0
    } else {
        all.iter().map(|&v| v as f64).sum::<f64>() / all.len() as f64 / 1000.0
    };
    Ok(format!(
        "{{\"op\":\"{op}\",\"clients\":{},\"conns\":{},\"requests\":{},\"errors\":{errors},\
         \"conflicts\":{conflicts},\"seconds\":{elapsed:.3},\"ops_per_sec\":{:.1},\
         \"mean_ms\":{mean:.3},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\
         \"max_ms\":{:.3},\"first_error\":{}}}",
        args.clients,
        args.conns,
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 90.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0),
        match first_error {
            Some(e) => format!("{:?}", e),
            None => "null".into(),
        },
    ))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("kubemu-etcd-bench: {e}");
            std::process::exit(1);
        }
    }
}
