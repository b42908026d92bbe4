//! Leases and watches.

mod common;
use common::*;
use kubemu_store::*;

#[test]
fn lease_lifecycle_and_expiry() {
    let s = mem();
    let g = s.lease_grant(1, 0).unwrap();
    assert_eq!(g.ttl, MIN_TTL);
    let l = s.lease_grant(10, 42).unwrap();
    assert_eq!(l.id, 42);
    assert_eq!(s.lease_grant(10, 42).unwrap_err(), StoreError::LeaseExists);
    put_lease(&s, "a", "1", 42).unwrap();
    put_lease(&s, "b", "1", 42).unwrap();
    assert_eq!(
        put_lease(&s, "c", "1", 7).unwrap_err(),
        StoreError::LeaseNotFound
    );
    let ttl = s.lease_time_to_live(42, true).unwrap();
    assert_eq!((ttl.ttl, ttl.granted_ttl, ttl.keys.len()), (10, 10, 2));
    // The lease granted 1 s (raised to 2 s) expires first.
    assert_eq!(s.advance_clock(6.0).unwrap(), vec![g.id]);
    assert_eq!(s.lease_time_to_live(42, false).unwrap().ttl, 4);
    assert_eq!(s.lease_keepalive(42).unwrap(), 10);
    assert!(s.advance_clock(6.0).unwrap().is_empty(), "42 was renewed");
    let rev = s.revision();
    assert_eq!(s.advance_clock(5.0).unwrap(), vec![42]);
    assert_eq!(s.revision(), rev + 1, "both keys deleted in one revision");
    assert!(get(&s, "a").is_none() && get(&s, "b").is_none());
    assert_eq!(s.lease_time_to_live(42, true).unwrap().ttl, -1);
    assert_eq!(s.lease_revoke(42).unwrap_err(), StoreError::LeaseNotFound);
}

#[test]
fn watch_from_past_revision_replays_history_in_order() {
    let s = mem();
    put(&s, "a", "1");
    put(&s, "b", "1");
    del(&s, "a", "");
    let stream = s.watch_stream(1024);
    stream
        .watch(&WatchRequest {
            key: "a".into(),
            range_end: "c".into(),
            start_revision: 2,
            ..Default::default()
        })
        .unwrap();
    put(&s, "b", "2");
    let evs = all_events(&stream);
    assert_eq!(
        evs,
        vec![
            (EventType::Put, "a".into(), 2),
            (EventType::Put, "b".into(), 3),
            (EventType::Delete, "a".into(), 4),
            (EventType::Put, "b".into(), 5)
        ]
    );
}

#[test]
fn watch_filters_prev_kv_and_cancel() {
    let s = mem();
    let stream = s.watch_stream(1024);
    let id = stream
        .watch(&WatchRequest {
            key: "k".into(),
            prev_kv: true,
            no_delete: true,
            ..Default::default()
        })
        .unwrap();
    put(&s, "k", "1");
    put(&s, "k", "2");
    del(&s, "k", "");
    let rs = stream.poll(100, Some(std::time::Duration::from_millis(100)));
    assert!(rs[0].created);
    let events: Vec<_> = rs.iter().flat_map(|r| r.events.clone()).collect();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == EventType::Put));
    assert!(rs.iter().all(|r| r.prev_kv || r.events.is_empty()));
    assert_eq!(value(events[1].prev_kv.as_ref().unwrap()), "1");
    assert!(stream.cancel(id));
    assert!(!stream.cancel(id));
    put(&s, "k", "3");
    let rs = stream.poll(100, Some(std::time::Duration::from_millis(50)));
    assert!(rs.iter().all(|r| r.events.is_empty()));
}

#[test]
fn slow_stream_falls_back_to_catch_up_without_losing_events() {
    let s = mem();
    let stream = s.watch_stream(8); // tiny queue: overflows at once
    stream
        .watch(&WatchRequest {
            key: "p/".into(),
            range_end: "p0".into(),
            ..Default::default()
        })
        .unwrap();
    let items: Vec<(Bytes, Bytes)> = (0..500)
        .map(|i| {
            (
                Bytes::from(format!("p/{i:04}").as_bytes()),
                Bytes::from(&b"v"[..]),
            )
        })
        .collect();
    s.put_many(&items, 0).unwrap();
    let evs = all_events(&stream);
    assert_eq!(evs.len(), 500);
    let revs: Vec<i64> = evs.iter().map(|e| e.2).collect();
    assert_eq!(revs, (2..502).collect::<Vec<_>>());
}

#[test]
fn watch_behind_compaction_is_canceled_with_compact_revision() {
    let s = mem();
    for i in 0..10 {
        put(&s, "k", &i.to_string());
    }
    s.compact(8).unwrap();
    let stream = s.watch_stream(64);
    let id = stream
        .watch(&WatchRequest {
            key: "k".into(),
            start_revision: 3,
            ..Default::default()
        })
        .unwrap();
    let rs = stream.poll(100, Some(std::time::Duration::from_millis(100)));
    let c = rs.iter().find(|r| r.canceled).expect("canceled response");
    assert_eq!((c.watch_id, c.compact_revision), (id, 8));
}

#[test]
fn many_watchers_on_distinct_keys_each_get_only_theirs() {
    let s = mem();
    let stream = s.watch_stream(1 << 20);
    for i in 0..2000 {
        stream
            .watch(&WatchRequest {
                key: format!("n/{i}").into_bytes(),
                ..Default::default()
            })
            .unwrap();
    }
    let items: Vec<(Bytes, Bytes)> = (0..2000)
        .map(|i| {
            (
                Bytes::from(format!("n/{i}").as_bytes()),
                Bytes::from(&b"v"[..]),
            )
        })
        .collect();
    s.put_many(&items, 0).unwrap();
    let mut per: std::collections::HashMap<i64, usize> = Default::default();
    loop {
        let rs = stream.poll(10_000, Some(std::time::Duration::from_millis(50)));
        if rs.is_empty() {
            break;
        }
        for r in rs {
            *per.entry(r.watch_id).or_default() += r.events.len();
        }
    }
    assert_eq!(per.values().sum::<usize>(), 2000);
    assert!(per.values().all(|n| *n == 1));
}

#[test]
fn progress_request_reports_published_revision() {
    let s = mem();
    let stream = s.watch_stream(64);
    stream
        .watch(&WatchRequest {
            key: "x".into(),
            ..Default::default()
        })
        .unwrap();
    put(&s, "other", "1");
    stream.request_progress();
    let rs = stream.poll(100, Some(std::time::Duration::from_millis(100)));
    let p = rs.iter().find(|r| r.progress).expect("progress response");
    assert_eq!((p.watch_id, p.revision), (-1, 2));
}

#[test]
fn watch_created_while_writes_run_misses_nothing() {
    // Writers skip building events while nobody watches; a watch created in
    // the middle must still see every revision after its created revision.
    for round in 0..20 {
        let s = std::sync::Arc::new(mem());
        let writer = {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let items: Vec<(Bytes, Bytes)> = (0..5)
                        .map(|j| {
                            (
                                Bytes::from(&b"k"[..]),
                                Bytes::from(format!("{i}-{j}").as_bytes()),
                            )
                        })
                        .collect();
                    s.put_many(&items, 0).unwrap();
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_micros(200 * round));
        let stream = s.watch_stream(1 << 16);
        stream
            .watch(&WatchRequest {
                key: "k".into(),
                ..Default::default()
            })
            .unwrap();
        writer.join().unwrap();
        let mut created = None;
        let mut revs = Vec::new();
        loop {
            let rs = stream.poll(1 << 16, Some(std::time::Duration::from_millis(50)));
            if rs.is_empty() {
                break;
            }
            for r in rs {
                if r.created {
                    created = Some(r.revision);
                }
                revs.extend(r.events.iter().map(|e| e.kv.mod_revision));
            }
        }
        let from = created.expect("created response");
        assert_eq!(
            revs,
            (from + 1..=s.revision()).collect::<Vec<_>>(),
            "round {round}"
        );
    }
}

#[test]
fn leases_by_expiry_orders_by_deadline() {
    let s = mem();
    for (id, ttl) in [(1, 60), (2, 300), (3, 30), (4, 120)] {
        s.lease_grant(ttl, id).unwrap();
    }
    assert_eq!(s.leases(), vec![1, 2, 3, 4]);
    assert_eq!(s.leases_by_expiry(), vec![3, 1, 4, 2]);
    s.advance_clock(20.0).unwrap();
    s.lease_keepalive(3).unwrap(); // now expires at 50 s, still first
    s.lease_keepalive(1).unwrap(); // now at 80 s: still before 4 (120 s)
    assert_eq!(s.leases_by_expiry(), vec![3, 1, 4, 2]);
}
