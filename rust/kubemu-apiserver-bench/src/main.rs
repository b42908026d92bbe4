//! A lean load generator for kubemu's apiserver over gRPC: single-object Create, Get or
//! Update from N concurrent tasks for a fixed time; prints one JSON line
//! `{"rate", "requests", "p50_ms", "p99_ms"}` (requests/s; latency percentiles in ms).
//!
//! ```text
//! kubemu-apiserver-bench --target 127.0.0.1:PORT --verb create|get|update \
//!     [--token T] [--concurrency 64] [--seconds 2] [--namespace bench] \
//!     [--pod FILE] [--tag TAG] [--get-names 20000] [--threads 1]
//! ```
//!
//! The requests are those of `kubemu.bench.apiserver_bench`'s Python client, sent the way
//! `GrpcClient` sends them (the multiplexed `Call` stream of proto/kubemu/v1/api.proto: calls
//! queued by the tasks are written in batches, results matched by id), so the server does the
//! same work; only the client is cheaper:
//! - `create`: the pod of `--pod` (msgpack) named `c-TAG-W-N`;
//! - `get`: `pod-NNNNNNN` with N = (W * 7919 + n) mod `--get-names` (pods that exist);
//! - `update`: each task creates `upd-TAG-W` (untimed), then updates it again and again with
//!   the resourceVersion of its last write and a changed annotation
//!   (`kubemu.io/counter`), decoding each response's msgpack as the next request's base.
//!
//! Create and get responses are parsed as protobuf but their objects are not decoded from
//! msgpack (the Python client decodes every object into a dict). A failed call (a Status)
//! ends the run with its message and exit code 1.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message as _;
use rmpv::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// The generated kubemu.v1 messages and client.
mod pb {
    tonic::include_proto!("kubemu.v1");
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verb {
    Create,
    Get,
    Update,
}

#[derive(Debug)]
struct Args {
    target: String,
    token: String,
    verb: Verb,
    concurrency: usize,
    seconds: f64,
    namespace: String,
    pod: Option<String>,
    tag: String,
    get_names: usize,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        target: "127.0.0.1:7443".into(),
        token: String::new(),
        verb: Verb::Get,
        concurrency: 64,
        seconds: 2.0,
        namespace: "bench".into(),
        pod: None,
        tag: "lean".into(),
        get_names: 20_000,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => a.target = val()?,
            "--token" => a.token = val()?,
            "--verb" => {
                a.verb = match val()?.as_str() {
                    "create" => Verb::Create,
                    "get" => Verb::Get,
                    "update" => Verb::Update,
                    v => return Err(format!("unknown verb {v:?} (create, get, update)")),
                }
            }
            "--concurrency" => a.concurrency = number(&flag, val()?)?,
            "--seconds" => {
                a.seconds = val()?.parse().map_err(|e| format!("{flag}: {e}"))?;
            }
            "--namespace" => a.namespace = val()?,
            "--pod" => a.pod = Some(val()?),
            "--tag" => a.tag = val()?,
            "--get-names" => a.get_names = number(&flag, val()?)?,
            "--threads" => a.threads = number(&flag, val()?)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.concurrency == 0 || a.threads == 0 || a.get_names == 0 {
        return Err("--concurrency, --threads and --get-names must be positive".into());
    }
    if a.verb != Verb::Get && a.pod.is_none() {
        return Err("create and update need --pod FILE (a pod as msgpack)".into());
    }
    Ok(a)
}

fn number(flag: &str, v: String) -> Result<usize, String> {
    v.parse::<usize>().map_err(|e| format!("{flag}: {e}"))
}

/// A failed call: the transport's error, or the apiserver's Status message.
type CallError = String;

/// A call waiting to be written: method, serialized unary request, where the result goes.
struct Pending {
    method: &'static str,
    request: Vec<u8>,
    reply: oneshot::Sender<Result<Vec<u8>, CallError>>,
}

/// The calls written and not answered yet, by id.
type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Vec<u8>, CallError>>>>>;

/// A `CallBatch` is closed at this many request bytes (as `GrpcClient`'s `MUX_BATCH_BYTES`).
const BATCH_BYTES: usize = 60 * 1024;

/// One `Call` stream shared by every task: a writer drains the queued calls into batches, a
/// reader resolves each call's reply by id.
#[derive(Clone)]
struct Mux {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Mux {
    async fn open(channel: Channel, token: &str) -> Result<Mux, String> {
        let mut client = pb::api_client::ApiClient::new(channel);
        let (batches, outgoing) = mpsc::channel::<pb::CallBatch>(64);
        let mut request = tonic::Request::new(ReceiverStream::new(outgoing));
        if !token.is_empty() {
            let value: MetadataValue<_> = format!("Bearer {token}")
                .parse()
                .map_err(|e| format!("token: {e}"))?;
            request.metadata_mut().insert("authorization", value);
        }
        let waiting: Waiting = Arc::default();
        let (queue, mut queued) = mpsc::unbounded_channel::<Pending>();

        let writer_waiting = Arc::clone(&waiting);
        tokio::spawn(async move {
            let mut next_id = 1u64;
            while let Some(first) = queued.recv().await {
                let mut calls = Vec::new();
                let mut size = 0;
                let mut item = Some(first);
                while let Some(p) = item {
                    size += p.request.len() + 32;
                    let id = next_id;
                    next_id += 1;
                    writer_waiting
                        .lock()
                        .expect("waiting calls")
                        .insert(id, p.reply);
                    calls.push(pb::CallRequest {
                        id,
                        method: p.method.to_string(),
                        request: p.request,
                    });
                    item = if size < BATCH_BYTES {
                        queued.try_recv().ok()
                    } else {
                        None
                    };
                }
                if batches.send(pb::CallBatch { calls }).await.is_err() {
                    return;
                }
            }
        });

        // The server sends the stream's headers with its first results: the call is opened
        // in the reader's task, so the first calls can be written meanwhile.
        tokio::spawn(async move {
            let failure = match client.call(request).await {
                Err(s) => format!("the call stream failed: {}", s.message()),
                Ok(response) => read_results(response.into_inner(), &waiting).await,
            };
            for (_, reply) in waiting.lock().expect("waiting calls").drain() {
                let _ = reply.send(Err(failure.clone()));
            }
        });
        Ok(Mux { queue })
    }

    /// The serialized response of `method` called with `request`, or why it failed.
    async fn call(&self, method: &'static str, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Pending {
                method,
                request,
                reply,
            })
            .map_err(|_| "the call stream is closed".to_string())?;
        result
            .await
            .map_err(|_| "the call stream ended".to_string())?
    }
}

/// Resolve each waiting call from the result stream until it ends; why it ended.
async fn read_results(
    mut results: tonic::Streaming<pb::CallResultBatch>,
    waiting: &Waiting,
) -> String {
    loop {
        match results.message().await {
            Ok(Some(batch)) => {
                let mut waiting = waiting.lock().expect("waiting calls");
                for r in batch.results {
                    if let Some(reply) = waiting.remove(&r.id) {
                        let outcome = if r.status.is_empty() {
                            Ok(r.response)
                        } else {
                            Err(status_message(&r.status))
                        };
                        let _ = reply.send(outcome);
                    }
                }
            }
            Ok(None) => return "the call stream ended".to_string(),
            Err(s) => return format!("the call stream failed: {}", s.message()),
        }
    }
}

/// The `message` of a Status (msgpack), or a placeholder when it cannot be read.
fn status_message(status: &[u8]) -> String {
    let mut rd = status;
    match rmpv::decode::read_value(&mut rd) {
        Ok(v) => match map_get(&v, "message") {
            Some(Value::String(s)) => s.as_str().unwrap_or("<non-UTF-8 message>").to_string(),
            _ => format!("{v}"),
        },
        Err(e) => format!("<unreadable Status: {e}>"),
    }
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// `map[key]`, inserted as an empty map when missing; None if `map` is not a map.
fn map_entry<'a>(map: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let Value::Map(entries) = map else {
        return None;
    };
    let i = match entries.iter().position(|(k, _)| k.as_str() == Some(key)) {
        Some(i) => i,
        None => {
            entries.push((Value::from(key), Value::Map(Vec::new())));
            entries.len() - 1
        }
    };
    Some(&mut entries[i].1)
}

fn set_path(obj: &mut Value, path: &[&str], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty path")?;
    let mut at = obj;
    for p in parents {
        at = map_entry(at, p).ok_or_else(|| format!("{p}: not a map"))?;
    }
    *map_entry(at, last).ok_or_else(|| format!("{last}: parent is not a map"))? = value;
    Ok(())
}

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    rmpv::encode::write_value(&mut out, v).expect("writing msgpack to a Vec");
    out
}

fn decode(data: &[u8]) -> Result<Value, String> {
    let mut rd = data;
    rmpv::decode::read_value(&mut rd).map_err(|e| format!("response object: {e}"))
}

/// An `ObjectResponse`'s object: (msgpack bytes, resourceVersion).
fn object_of(response: &[u8]) -> Result<(Vec<u8>, i64), String> {
    let r = pb::ObjectResponse::decode(response).map_err(|e| format!("ObjectResponse: {e}"))?;
    let o = r.object.ok_or("ObjectResponse without an object")?;
    Ok((o.data, o.resource_version))
}

struct Ctx {
    mux: Mux,
    verb: Verb,
    namespace: String,
    pod: Value,
    tag: String,
    get_names: usize,
    deadline: Instant,
}

async fn create(ctx: &Ctx, name: String) -> Result<(Vec<u8>, i64), String> {
    let mut pod = ctx.pod.clone();
    set_path(&mut pod, &["metadata", "name"], Value::from(name))?;
    let request = pb::CreateRequest {
        resource: "pods".into(),
        namespace: ctx.namespace.clone(),
        object: encode(&pod),
        dry_run: false,
    };
    object_of(&ctx.mux.call("Create", request.encode_to_vec()).await?)
}

/// One task's loop until the deadline: the latency of each request, in seconds. `current`:
/// the update task's own pod (decoded) and its resourceVersion.
async fn worker(
    ctx: Arc<Ctx>,
    w: usize,
    mut current: Option<(Value, i64)>,
) -> Result<Vec<f64>, String> {
    let mut latencies = Vec::new();
    let mut n = 0usize;
    loop {
        let t0 = Instant::now();
        if t0 >= ctx.deadline {
            return Ok(latencies);
        }
        match ctx.verb {
            Verb::Create => {
                create(&ctx, format!("c-{}-{w}-{n}", ctx.tag)).await?;
            }
            Verb::Get => {
                let request = pb::GetRequest {
                    resource: "pods".into(),
                    namespace: ctx.namespace.clone(),
                    name: format!("pod-{:07}", (w * 7919 + n) % ctx.get_names),
                };
                object_of(&ctx.mux.call("Get", request.encode_to_vec()).await?)?;
            }
            Verb::Update => {
                let (mut obj, rv) = current.take().ok_or("no object to update")?;
                set_path(
                    &mut obj,
                    &["metadata", "resourceVersion"],
                    Value::from(rv.to_string()),
                )?;
                set_path(
                    &mut obj,
                    &["metadata", "annotations", "kubemu.io/counter"],
                    Value::from(n.to_string()),
                )?;
                let request = pb::UpdateRequest {
                    resource: "pods".into(),
                    namespace: ctx.namespace.clone(),
                    object: encode(&obj),
                };
                let (data, rv) =
                    object_of(&ctx.mux.call("Update", request.encode_to_vec()).await?)?;
                current = Some((decode(&data)?, rv));
            }
        }
        latencies.push(t0.elapsed().as_secs_f64());
        n += 1;
    }
}

/// `sorted[round(q * (len - 1))]`, as the Python benchmark's percentile.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(a: Args) -> Result<String, String> {
    let pod = match &a.pod {
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            decode(&data)?
        }
        None => Value::Nil,
    };
    let uri = if a.target.contains("://") {
        a.target.clone()
    } else {
        format!("http://{}", a.target)
    };
    let channel = Channel::from_shared(uri)
        .map_err(|e| format!("--target: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("connect {}: {e}", a.target))?;
    let mux = Mux::open(channel, &a.token).await?;
    let mut ctx = Ctx {
        mux,
        verb: a.verb,
        namespace: a.namespace.clone(),
        pod,
        tag: a.tag.clone(),
        get_names: a.get_names,
        deadline: Instant::now(),
    };
    // Update tasks each create their pod first, untimed (as the Python bench).
    let mut initial = Vec::new();
    for w in 0..a.concurrency {
        initial.push(if a.verb == Verb::Update {
            let (data, rv) = create(&ctx, format!("upd-{}-{w}", a.tag)).await?;
            Some((decode(&data)?, rv))
        } else {
            None
        });
    }
    let t0 = Instant::now();
    ctx.deadline = t0 + Duration::from_secs_f64(a.seconds);
    let ctx = Arc::new(ctx);
    let tasks: Vec<_> = initial
        .into_iter()
        .enumerate()
        .map(|(w, obj)| tokio::spawn(worker(Arc::clone(&ctx), w, obj)))
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.map_err(|e| format!("task: {e}"))??);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(format!(
        "{{\"rate\": {}, \"requests\": {}, \"p50_ms\": {}, \"p99_ms\": {}}}",
        latencies.len() as f64 / elapsed,
        latencies.len(),
        percentile(&latencies, 0.50) * 1e3,
        percentile(&latencies, 0.99) * 1e3,
    ))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kubemu-apiserver-bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kubemu-apiserver-bench: runtime: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        Err(e) => {
            eprintln!("kubemu-apiserver-bench: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        Value::Map(vec![
            (Value::from("kind"), Value::from("Pod")),
            (
                Value::from("metadata"),
                Value::Map(vec![(Value::from("name"), Value::from("a"))]),
            ),
        ])
    }

    #[test]
    fn set_path_replaces_and_inserts_nested_keys() {
        let mut p = pod();
        set_path(&mut p, &["metadata", "name"], Value::from("b")).unwrap();
        set_path(
            &mut p,
            &["metadata", "annotations", "kubemu.io/counter"],
            Value::from("3"),
        )
        .unwrap();
        let meta = map_get(&p, "metadata").unwrap();
        assert_eq!(map_get(meta, "name"), Some(&Value::from("b")));
        let ann = map_get(meta, "annotations").unwrap();
        assert_eq!(map_get(ann, "kubemu.io/counter"), Some(&Value::from("3")));
        assert_eq!(decode(&encode(&p)).unwrap(), p);
        // A path through a non-map is an error, not a panic.
        assert!(set_path(&mut p, &["kind", "x"], Value::from(1)).is_err());
    }

    #[test]
    fn status_message_reads_the_status_or_says_why_not() {
        let status = Value::Map(vec![
            (Value::from("reason"), Value::from("Unauthorized")),
            (Value::from("message"), Value::from("Unauthorized")),
        ]);
        assert_eq!(status_message(&encode(&status)), "Unauthorized");
        assert!(status_message(&[]).starts_with("<unreadable Status"));
    }

    #[test]
    fn object_of_reads_an_object_response() {
        let r = pb::ObjectResponse {
            object: Some(pb::RawObject {
                data: vec![0x80],
                resource_version: 42,
            }),
        };
        assert_eq!(object_of(&r.encode_to_vec()).unwrap(), (vec![0x80], 42));
        assert!(object_of(&pb::ObjectResponse { object: None }.encode_to_vec()).is_err());
    }

    #[test]
    fn percentile_matches_the_python_bench() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
