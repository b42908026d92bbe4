//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kubemu_store::*;

pub fn mem() -> Store {
    Store::open(Options {
        manual_clock: true,
        ..Options::default()
    })
    .unwrap()
}

pub fn durable(dir: &std::path::Path) -> Store {
    Store::open(Options {
        data_dir: Some(dir.to_path_buf()),
        manual_clock: true,
        ..Options::default()
    })
    .unwrap()
}

pub fn put(s: &Store, k: &str, v: &str) -> i64 {
    s.put(&PutRequest {
        key: k.into(),
        value: v.into(),
        ..Default::default()
    })
    .unwrap()
    .revision
}

pub fn put_lease(s: &Store, k: &str, v: &str, lease: i64) -> Result<PutResponse> {
    s.put(&PutRequest {
        key: k.into(),
        value: v.into(),
        lease,
        ..Default::default()
    })
}

pub fn get(s: &Store, k: &str) -> Option<KeyValue> {
    s.range(&RangeRequest {
        key: k.into(),
        ..Default::default()
    })
    .unwrap()
    .kvs
    .into_iter()
    .next()
}

pub fn range(s: &Store, k: &str, end: &str) -> RangeResponse {
    s.range(&RangeRequest {
        key: k.into(),
        range_end: end.into(),
        ..Default::default()
    })
    .unwrap()
}

pub fn del(s: &Store, k: &str, end: &str) -> DeleteRangeResponse {
    s.delete_range(&DeleteRangeRequest {
        key: k.into(),
        range_end: end.into(),
        prev_kv: true,
    })
    .unwrap()
}

pub fn keys(r: &RangeResponse) -> Vec<String> {
    r.kvs
        .iter()
        .map(|kv| String::from_utf8(kv.key.to_vec()).unwrap())
        .collect()
}

pub fn value(kv: &KeyValue) -> String {
    String::from_utf8(kv.value.to_vec()).unwrap()
}

pub fn all_events(stream: &WatchStream) -> Vec<(EventType, String, i64)> {
    let mut out = Vec::new();
    loop {
        let rs = stream.poll(1024, Some(std::time::Duration::from_millis(50)));
        if rs.is_empty() {
            return out;
        }
        for r in rs {
            for e in r.events {
                out.push((
                    e.kind,
                    String::from_utf8(e.kv.key.to_vec()).unwrap(),
                    e.kv.mod_revision,
                ));
            }
        }
    }
}
