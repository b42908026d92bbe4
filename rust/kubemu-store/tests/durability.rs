//! Restart, snapshots, torn tails and corruption.

mod common;
use common::*;
use kubemu_store::*;
use std::future::Future;

#[test]
fn restart_restores_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (rev, hist) = {
        let s = durable(dir.path());
        let l = s.lease_grant(30, 5).unwrap().id;
        put(&s, "a", "1");
        put_lease(&s, "b", "1", l).unwrap();
        put(&s, "a", "2");
        del(&s, "c", "d");
        s.compact(3).unwrap();
        put(&s, "a", "3");
        (s.revision(), s.hash_kv(0).unwrap())
    };
    let s = durable(dir.path());
    assert_eq!(s.revision(), rev);
    assert_eq!(s.compact_revision(), 3);
    assert_eq!(s.hash_kv(0).unwrap(), hist);
    assert_eq!(value(&get(&s, "a").unwrap()), "3");
    assert_eq!(s.leases(), vec![5]);
    assert_eq!(s.lease_time_to_live(5, true).unwrap().keys.len(), 1);
}

#[test]
fn snapshots_bound_the_wal_and_recover_identically() {
    let dir = tempfile::tempdir().unwrap();
    let expect = {
        let s = durable(dir.path());
        for i in 0..300 {
            put(&s, &format!("k{}", i % 37), &i.to_string());
        }
        s.snapshot_now().unwrap();
        for i in 0..50 {
            put(&s, &format!("k{}", i % 7), "after");
        }
        s.snapshot_now().unwrap();
        put(&s, "tail", "1");
        (s.revision(), s.hash_kv(0).unwrap())
    };
    let wal_files = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert_eq!(wal_files, 1, "segments covered by the snapshot are removed");
    let s = durable(dir.path());
    assert_eq!((s.revision(), s.hash_kv(0).unwrap()), expect);
    let old = s
        .range(&RangeRequest {
            key: "k1".into(),
            revision: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(old.kvs.len(), 1, "history before the snapshot survives");
}

/// Writes `n` puts durably, flips the bits `mask` of WAL byte `at`, and
/// returns what reopening says.
fn reopen_after_flip(n: usize, at: usize, mask: u8) -> StoreError {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = durable(dir.path());
        for i in 0..n {
            put(&s, &format!("k{i}"), &format!("value-{i}"));
        }
    }
    let f = wal_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    data[at] ^= mask;
    std::fs::write(&f, &data).unwrap();
    Store::open(Options {
        data_dir: Some(dir.path().into()),
        ..Options::default()
    })
    .err()
    .expect("damaged WAL must not open")
}

fn wal_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn torn_tail_is_truncated_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = durable(dir.path());
        put(&s, "a", "1");
        put(&s, "b", "2");
    }
    // Tear the last record: zero its last bytes (the segment is preallocated
    // with zeros, so the records end at the last non-zero byte).
    let f = wal_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    let last = data.iter().rposition(|b| *b != 0).unwrap();
    data[last - 2..=last].fill(0);
    std::fs::write(&f, &data).unwrap();
    let s = durable(dir.path());
    assert_eq!(s.revision(), 2);
    assert!(get(&s, "b").is_none());
    assert_eq!(s.status().recovery_warnings.len(), 1);
    put(&s, "c", "3");
    drop(s);
    let s = durable(dir.path());
    assert_eq!(s.revision(), 3);
}

#[test]
fn clean_preallocated_tail_is_not_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = durable(dir.path());
        put(&s, "a", "1");
        // The maintenance thread prepares a zero-filled segment and moves to it.
        let t = std::time::Instant::now();
        while std::fs::metadata(wal_file(dir.path())).unwrap().len() < 64 << 20 {
            assert!(
                t.elapsed().as_secs() < 30,
                "no preallocated segment appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        put(&s, "b", "2");
    }
    let s = durable(dir.path());
    assert!(s.status().recovery_warnings.is_empty());
    assert_eq!(
        (s.revision(), value(&get(&s, "b").unwrap())),
        (3, "2".to_string())
    );
    put(&s, "c", "3");
    drop(s);
    let s = durable(dir.path());
    assert_eq!(s.revision(), 4);
    assert!(s.status().recovery_warnings.is_empty());
}

#[test]
fn corruption_in_the_middle_refuses_to_start() {
    match reopen_after_flip(10, 20, 0xff) {
        StoreError::Corruption(m) => assert!(m.contains(".wal"), "{m}"),
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn backup_has_etcd_shape_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let s = mem();
    for i in 0..20 {
        put(&s, &format!("k{i}"), "v");
    }
    let file = dir.path().join("backup.db");
    let rev = s.snapshot_save(&file).unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    assert_eq!(len % 512, 32);
    let data_dir = dir.path().join("restored");
    assert_eq!(snapshot_restore(&file, &data_dir).unwrap(), rev);
    let r = durable(&data_dir);
    assert_eq!(r.revision(), rev);
    assert_eq!(r.hash_kv(0).unwrap(), s.hash_kv(0).unwrap());
    // A damaged backup is refused.
    let mut data = std::fs::read(&file).unwrap();
    data[100] ^= 1;
    std::fs::write(&file, &data).unwrap();
    assert!(matches!(
        snapshot_restore(&file, &dir.path().join("x")),
        Err(StoreError::Corruption(_))
    ));
}

#[test]
fn put_many_is_all_or_nothing_across_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = durable(dir.path());
        put(&s, "before", "1");
        let items: Vec<(Bytes, Bytes)> = (0..150)
            .map(|i| {
                (
                    Bytes::from(format!("k{i:03}").as_bytes()),
                    Bytes::from(&b"batch-value"[..]),
                )
            })
            .collect();
        s.put_many(&items, 0).unwrap();
    }
    // Tear the batch record in the middle of its pairs.
    let f = wal_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    let at = data.windows(4).position(|w| w == b"k080").unwrap();
    let used = data.iter().rposition(|b| *b != 0).unwrap();
    data[at..=used].fill(0);
    std::fs::write(&f, &data).unwrap();
    let s = durable(dir.path());
    assert_eq!(s.revision(), 2, "none of the torn batch is recovered");
    assert!(get(&s, "before").is_some() && get(&s, "k000").is_none());
    let broken = f.with_extension("wal.broken");
    assert!(
        std::fs::metadata(broken).unwrap().len() > 0,
        "cut bytes are kept aside"
    );
}

#[test]
fn damaged_length_before_valid_records_is_corruption() {
    // The first record's length: make it point far past the real records.
    let err = reopen_after_flip(20, 3, 0x01);
    assert!(matches!(err, StoreError::Corruption(_)), "{err}");
}

#[test]
fn wal_replayed_at_start_counts_towards_the_next_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Store::open(Options {
            data_dir: Some(dir.path().into()),
            snapshot_wal_bytes: 20_000,
            manual_clock: true,
            ..Options::default()
        })
        .unwrap()
    };
    let value = "x".repeat(1000);
    for round in 0..3 {
        let s = open();
        for i in 0..8 {
            put(&s, &format!("k{i}"), &format!("{round}{value}"));
        }
        // Compacted history keeps the state small, so the WAL threshold rules.
        s.compact(s.revision()).unwrap();
    }
    // 24 KB of WAL over three sessions of 8 KB each: the third crosses 20 KB.
    let s = open();
    let t = std::time::Instant::now();
    while std::fs::read_dir(dir.path().join("snap")).unwrap().count() == 0 {
        assert!(t.elapsed().as_secs() < 10, "no snapshot was taken");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(s.status().keys, 8);
}

#[test]
fn deferred_writes_become_durable_through_the_committer() {
    let dir = tempfile::tempdir().unwrap();
    let seqs: Vec<u64> = {
        let s = durable(dir.path());
        let seqs: Vec<u64> = (0..50)
            .map(|i| {
                let req = PutRequest {
                    key: format!("d{i}").into_bytes(),
                    value: b"v".to_vec(),
                    ..Default::default()
                };
                s.put_deferred(&req).unwrap().1
            })
            .collect();
        // Poll the futures by hand: the committer thread completes them.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let t = std::time::Instant::now();
        for seq in &seqs {
            let mut fut = s.durable(*seq);
            loop {
                match std::pin::Pin::new(&mut fut).poll(&mut cx) {
                    std::task::Poll::Ready(r) => {
                        r.unwrap();
                        break;
                    }
                    std::task::Poll::Pending => {
                        assert!(t.elapsed().as_secs() < 10, "never became durable");
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            }
        }
        assert_eq!(s.revision(), 51, "durable writes are visible");
        seqs
    };
    assert_eq!(seqs.len(), 50);
    let s = durable(dir.path());
    assert_eq!(s.status().keys, 50);
}
