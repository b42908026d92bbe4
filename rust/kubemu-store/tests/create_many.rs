//! `Store::create_many`: create-if-absent in batches, as nested txns would.

mod common;
use common::*;
use kubemu_store::*;

fn items(pairs: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
    pairs
        .iter()
        .map(|(k, v)| (Bytes::from(k.as_bytes()), Bytes::from(v.as_bytes())))
        .collect()
}

/// The txn `create_many` stands for: per item `if mod(key) == 0 then put`.
fn nested_txn(pairs: &[(&str, &str)]) -> TxnRequest {
    TxnRequest {
        success: pairs
            .iter()
            .map(|(k, v)| {
                RequestOp::Txn(TxnRequest {
                    compare: vec![Compare {
                        key: k.as_bytes().to_vec(),
                        range_end: Vec::new(),
                        target: CompareTarget::Mod,
                        result: CompareResult::Equal,
                        operand: CompareOperand::Int(0),
                    }],
                    success: vec![RequestOp::Put(PutRequest {
                        key: k.as_bytes().to_vec(),
                        value: v.as_bytes().to_vec(),
                        ..Default::default()
                    })],
                    failure: Vec::new(),
                })
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn creates_absent_keys_one_revision_per_chunk() {
    let s = mem();
    put(&s, "b", "old");
    let before = s.revision();
    let out = s
        .create_many(
            &items(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")]),
            2,
        )
        .unwrap();
    // chunks [a b] [c d] [e]: b exists
    let r = before;
    assert_eq!(
        out,
        vec![Some(r + 1), None, Some(r + 2), Some(r + 2), Some(r + 3)]
    );
    assert_eq!(s.revision(), r + 3);
    assert_eq!(
        value(&get(&s, "b").unwrap()),
        "old",
        "an existing key is untouched"
    );
    let a = get(&s, "a").unwrap();
    assert_eq!(
        (a.create_revision, a.mod_revision, a.version),
        (r + 1, r + 1, 1)
    );
    assert_eq!(value(&get(&s, "e").unwrap()), "5");
}

#[test]
fn a_chunk_that_creates_nothing_uses_no_revision() {
    let s = mem();
    put(&s, "a", "1");
    let rev = s.revision();
    assert_eq!(
        s.create_many(&items(&[("a", "2")]), 64).unwrap(),
        vec![None]
    );
    assert_eq!(s.create_many(&[], 64).unwrap(), Vec::<Option<i64>>::new());
    assert_eq!(s.revision(), rev);
}

#[test]
fn a_key_twice_creates_once() {
    let s = mem();
    let out = s
        .create_many(&items(&[("a", "1"), ("a", "2"), ("b", "3")]), 64)
        .unwrap();
    assert_eq!(out, vec![Some(2), None, Some(2)]);
    assert_eq!(value(&get(&s, "a").unwrap()), "1");
    assert_eq!(get(&s, "a").unwrap().version, 1);
}

#[test]
fn same_state_as_the_nested_txn() {
    let pairs = [("k1", "a"), ("k2", "b"), ("k3", "c"), ("k4", "d")];
    let (via_txn, via_create) = (mem(), mem());
    for s in [&via_txn, &via_create] {
        put(s, "k2", "x");
        del(s, "k3", "");
    }
    let resp = via_txn.txn(&nested_txn(&pairs)).unwrap();
    let out = via_create.create_many(&items(&pairs), 64).unwrap();
    let from_txn: Vec<Option<i64>> = resp
        .responses
        .iter()
        .map(|r| match r {
            ResponseOp::Txn(t) => t.succeeded.then_some(t.revision),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(out, from_txn);
    assert_eq!(via_txn.revision(), via_create.revision());
    assert_eq!(
        range(&via_txn, "k", "l").kvs,
        range(&via_create, "k", "l").kvs
    );
    assert_eq!(via_txn.hash_kv(0).unwrap(), via_create.hash_kv(0).unwrap());
}

#[test]
fn watchers_see_one_revision_per_chunk() {
    let s = mem();
    let stream = s.watch_stream(1024);
    stream
        .watch(&WatchRequest {
            key: "k".into(),
            range_end: "l".into(),
            ..Default::default()
        })
        .unwrap();
    s.create_many(&items(&[("k1", "1"), ("k2", "2"), ("k3", "3")]), 2)
        .unwrap();
    assert_eq!(
        all_events(&stream),
        vec![
            (EventType::Put, "k1".into(), 2),
            (EventType::Put, "k2".into(), 2),
            (EventType::Put, "k3".into(), 3),
        ]
    );
}

#[test]
fn checks_fail_a_chunk_after_earlier_chunks_committed() {
    let s = Store::open(Options {
        limits: Limits {
            max_request_bytes: 100,
            ..Limits::default()
        },
        ..Options::default()
    })
    .unwrap();
    // The key counts twice (compare and put): 2 * 2 + 97 > 100 >= 2 + 97.
    let v97 = "x".repeat(97);
    let err = s
        .create_many(&items(&[("k1", "1"), ("k2", &v97)]), 1)
        .unwrap_err();
    assert_eq!(err, StoreError::RequestTooLarge);
    assert!(
        get(&s, "k1").is_some(),
        "the chunk before the error is committed"
    );
    assert!(get(&s, "k2").is_none());
    // A chunk's size is the sum of its items: 2 * (2 * 2 + 50) > 100.
    let v50 = "x".repeat(50);
    let err = s
        .create_many(&items(&[("k4", &v50), ("k5", &v50)]), 2)
        .unwrap_err();
    assert_eq!(err, StoreError::RequestTooLarge);
    assert!(
        get(&s, "k4").is_none(),
        "nothing of a failed chunk is written"
    );
    assert_eq!(
        s.create_many(&items(&[("k4", &v50), ("k5", &v50)]), 1)
            .unwrap(),
        vec![Some(3), Some(4)]
    );
    assert_eq!(
        s.create_many(&items(&[("", "1")]), 2).unwrap_err(),
        StoreError::InvalidArgument("etcdserver: key is not provided".into())
    );
}

#[test]
fn quota_counts_every_put_of_a_chunk() {
    let s = Store::open(Options {
        limits: Limits {
            quota_bytes: 4096,
            ..Limits::default()
        },
        ..Options::default()
    })
    .unwrap();
    let big = "x".repeat(1000);
    let pairs: Vec<(String, String)> = (0..8).map(|i| (format!("k{i}"), big.clone())).collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        s.create_many(&items(&refs), 64).unwrap_err(),
        StoreError::NoSpace
    );
    assert_eq!(
        range(&s, "k", "l").count,
        0,
        "nothing of the chunk is written"
    );
    assert_eq!(s.alarms(), vec![Alarm::NoSpace]);
}

#[test]
fn acknowledged_creates_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rev = {
        let s = durable(dir.path());
        let out = s
            .create_many(&items(&[("a", "1"), ("b", "2"), ("c", "3")]), 2)
            .unwrap();
        assert_eq!(out, vec![Some(2), Some(2), Some(3)]);
        s.revision()
    };
    let s = durable(dir.path());
    assert_eq!(s.revision(), rev);
    assert_eq!(value(&get(&s, "c").unwrap()), "3");
    assert_eq!(get(&s, "b").unwrap().mod_revision, 2);
}
