//! Key-value semantics: revisions, versions, ranges, txns, compaction.

mod common;
use common::*;
use kubemu_store::*;

#[test]
fn revisions_versions_and_generations() {
    let s = mem();
    assert_eq!(s.revision(), 1);
    assert_eq!(put(&s, "a", "1"), 2);
    assert_eq!(put(&s, "a", "2"), 3);
    let kv = get(&s, "a").unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));
    let d = del(&s, "a", "");
    assert_eq!((d.deleted, d.revision), (1, 4));
    assert_eq!(value(&d.prev_kvs[0]), "2");
    assert!(get(&s, "a").is_none());
    // Deleting nothing does not use a revision.
    assert_eq!(del(&s, "a", "").revision, 4);
    assert_eq!(put(&s, "a", "3"), 5);
    let kv = get(&s, "a").unwrap();
    assert_eq!((kv.create_revision, kv.version), (5, 1));
    // History stays readable.
    let old = s
        .range(&RangeRequest {
            key: "a".into(),
            revision: 3,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(value(&old.kvs[0]), "2");
    assert_eq!(old.revision, 5, "header revision is the current one");
    let gone = s
        .range(&RangeRequest {
            key: "a".into(),
            revision: 4,
            ..Default::default()
        })
        .unwrap();
    assert!(gone.kvs.is_empty());
}

#[test]
fn range_limit_count_sort_and_filters() {
    let s = mem();
    for (k, v) in [("k1", "c"), ("k2", "a"), ("k3", "b"), ("k4", "d")] {
        put(&s, k, v);
    }
    put(&s, "k2", "z");
    let r = s
        .range(&RangeRequest {
            key: "k".into(),
            range_end: "l".into(),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (keys(&r), r.more, r.count),
        (vec!["k1".to_string(), "k2".into()], true, 4)
    );
    let r = s
        .range(&RangeRequest {
            key: "k".into(),
            range_end: "l".into(),
            sort_target: SortTarget::Value,
            sort_order: SortOrder::Descend,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(keys(&r), vec!["k2", "k4", "k1", "k3"]);
    let r = s
        .range(&RangeRequest {
            key: "k".into(),
            range_end: "l".into(),
            min_mod_revision: 4,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (keys(&r), r.count),
        (vec!["k2".to_string(), "k3".into(), "k4".into()], 4)
    );
    let r = s
        .range(&RangeRequest {
            key: "k2".into(),
            range_end: vec![0],
            count_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.kvs.len(), r.count, r.more), (0, 3, false));
    let r = s
        .range(&RangeRequest {
            key: "k".into(),
            range_end: "l".into(),
            keys_only: true,
            ..Default::default()
        })
        .unwrap();
    assert!(r.kvs.iter().all(|kv| kv.value.is_empty()));
}

#[test]
fn range_revision_errors() {
    let s = mem();
    put(&s, "a", "1");
    put(&s, "a", "2");
    put(&s, "a", "3");
    let at = |rev| {
        s.range(&RangeRequest {
            key: "a".into(),
            revision: rev,
            ..Default::default()
        })
    };
    assert_eq!(at(9).unwrap_err(), StoreError::FutureRevision);
    s.compact(3).unwrap();
    assert_eq!(at(2).unwrap_err(), StoreError::Compacted);
    assert_eq!(value(&at(3).unwrap().kvs[0]), "2");
    assert_eq!(s.compact(3).unwrap_err(), StoreError::Compacted);
    assert_eq!(s.compact(99).unwrap_err(), StoreError::FutureRevision);
}

fn cmp(
    key: &str,
    target: CompareTarget,
    result: CompareResult,
    operand: CompareOperand,
) -> Compare {
    Compare {
        key: key.into(),
        range_end: vec![],
        target,
        result,
        operand,
    }
}

fn put_op(k: &str, v: &str) -> RequestOp {
    RequestOp::Put(PutRequest {
        key: k.into(),
        value: v.into(),
        ..Default::default()
    })
}

#[test]
fn txn_compare_and_swap_like_kubernetes() {
    let s = mem();
    // Create only if absent: mod_revision == 0.
    let create = |k: &str| TxnRequest {
        compare: vec![cmp(
            k,
            CompareTarget::Mod,
            CompareResult::Equal,
            CompareOperand::Int(0),
        )],
        success: vec![put_op(k, "v1")],
        failure: vec![RequestOp::Range(RangeRequest {
            key: k.into(),
            ..Default::default()
        })],
    };
    let r = s.txn(&create("pod")).unwrap();
    assert!(r.succeeded);
    assert_eq!(r.revision, 2);
    let r = s.txn(&create("pod")).unwrap();
    assert!(!r.succeeded);
    assert_eq!(r.revision, 2, "a failed compare-and-swap writes nothing");
    // A value compare on an absent key always fails.
    let t = TxnRequest {
        compare: vec![cmp(
            "nope",
            CompareTarget::Value,
            CompareResult::NotEqual,
            CompareOperand::Value(b"x".to_vec()),
        )],
        ..Default::default()
    };
    assert!(!s.txn(&t).unwrap().succeeded);
}

#[test]
fn txn_is_one_revision_and_sees_own_writes() {
    let s = mem();
    let t = TxnRequest {
        success: vec![
            put_op("a", "1"),
            put_op("b", "2"),
            RequestOp::Range(RangeRequest {
                key: "a".into(),
                range_end: "c".into(),
                ..Default::default()
            }),
        ],
        ..Default::default()
    };
    let r = s.txn(&t).unwrap();
    assert_eq!(r.revision, 2);
    let ResponseOp::Range(rr) = &r.responses[2] else {
        panic!("range response")
    };
    assert_eq!(keys(rr), vec!["a", "b"]);
    assert_eq!(get(&s, "b").unwrap().mod_revision, 2);
}

#[test]
fn txn_validation() {
    let s = mem();
    let dup = TxnRequest {
        success: vec![put_op("a", "1"), put_op("a", "2")],
        ..Default::default()
    };
    assert_eq!(s.txn(&dup).unwrap_err(), StoreError::DuplicateKey);
    let put_and_del = TxnRequest {
        success: vec![
            put_op("b", "1"),
            RequestOp::DeleteRange(DeleteRangeRequest {
                key: "a".into(),
                range_end: "c".into(),
                prev_kv: false,
            }),
        ],
        ..Default::default()
    };
    assert_eq!(s.txn(&put_and_del).unwrap_err(), StoreError::DuplicateKey);
    let many = TxnRequest {
        success: (0..129).map(|i| put_op(&format!("k{i}"), "v")).collect(),
        ..Default::default()
    };
    assert_eq!(s.txn(&many).unwrap_err(), StoreError::TooManyOps);
    let bad_lease = TxnRequest {
        success: vec![
            put_op("x", "1"),
            RequestOp::Put(PutRequest {
                key: "y".into(),
                lease: 77,
                ..Default::default()
            }),
        ],
        ..Default::default()
    };
    assert_eq!(s.txn(&bad_lease).unwrap_err(), StoreError::LeaseNotFound);
    assert!(get(&s, "x").is_none(), "a failed txn writes nothing");
    assert_eq!(s.revision(), 1);
}

#[test]
fn compaction_keeps_latest_versions() {
    let s = mem();
    for i in 0..100 {
        put(&s, &format!("k{:03}", i % 10), &i.to_string());
    }
    del(&s, "k000", "");
    let before = range(&s, "k", "l");
    let rev = s.revision();
    s.compact(rev).unwrap();
    let after = range(&s, "k", "l");
    assert_eq!(before.kvs, after.kvs);
    assert!(s.status().db_size_in_use < 100 * 60);
}

#[test]
fn quota_raises_nospace_and_allows_deletes() {
    let s = Store::open(Options {
        limits: Limits {
            quota_bytes: 4096,
            ..Limits::default()
        },
        ..Options::default()
    })
    .unwrap();
    let big = "x".repeat(1000);
    let mut i = 0;
    let err = loop {
        match s.put(&PutRequest {
            key: format!("k{i}").into_bytes(),
            value: big.clone().into_bytes(),
            ..Default::default()
        }) {
            Ok(_) => i += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, StoreError::NoSpace);
    assert_eq!(s.alarms(), vec![Alarm::NoSpace]);
    assert!(range(&s, "k", "l").count > 0, "reads still work");
    assert!(del(&s, "k", "l").deleted > 0, "deletes still work");
    assert_eq!(
        put_lease(&s, "small", "v", 0).unwrap_err(),
        StoreError::NoSpace,
        "alarm holds until disarmed"
    );
    s.compact(s.revision()).unwrap();
    s.alarm_disarm().unwrap();
    put(&s, "small", "v");
}

#[test]
fn ignore_value_and_lease_rules() {
    let s = mem();
    let p = |k: &str, v: &str, iv: bool, il: bool| {
        s.put(&PutRequest {
            key: k.into(),
            value: v.into(),
            ignore_value: iv,
            ignore_lease: il,
            ..Default::default()
        })
    };
    assert_eq!(
        p("a", "", true, false).unwrap_err(),
        StoreError::KeyNotFound
    );
    assert!(matches!(
        p("a", "x", true, false).unwrap_err(),
        StoreError::InvalidArgument(_)
    ));
    let l = s.lease_grant(60, 0).unwrap().id;
    put_lease(&s, "a", "v", l).unwrap();
    p("a", "", true, false).unwrap();
    let kv = get(&s, "a").unwrap();
    assert_eq!((value(&kv), kv.lease, kv.version), ("v".to_string(), 0, 2));
}
