//! Tests of the watch router.

use super::*;
use crate::lookup::{Found, Rule, Segment};

fn key(s: &str) -> Segment {
    Segment::Key(s.as_bytes().to_vec())
}

fn spec() -> Spec {
    Spec::new(vec![
        (
            "metadata.name".into(),
            vec![key("metadata"), key("name")],
            Rule::Get,
        ),
        (
            "metadata.namespace".into(),
            vec![key("metadata"), key("namespace")],
            Rule::Get,
        ),
        (
            "spec.nodeName".into(),
            vec![key("spec"), key("nodeName")],
            Rule::OrEmpty,
        ),
    ])
}

fn s(out: &mut Vec<u8>, v: &str) {
    assert!(v.len() < 32);
    out.push(0xa0 | v.len() as u8);
    out.extend_from_slice(v.as_bytes());
}

/// {"metadata": {"name", "namespace", "labels"}, "spec": {"nodeName"}}
fn pod(ns: &str, name: &str, node: &str, labels: &[(&str, &str)]) -> Bytes {
    let mut d = vec![0x82];
    s(&mut d, "metadata");
    d.push(0x83);
    s(&mut d, "name");
    s(&mut d, name);
    s(&mut d, "namespace");
    s(&mut d, ns);
    s(&mut d, "labels");
    d.push(0x80 | labels.len() as u8);
    for (k, v) in labels {
        s(&mut d, k);
        s(&mut d, v);
    }
    s(&mut d, "spec");
    d.push(0x81);
    s(&mut d, "nodeName");
    s(&mut d, node);
    d.into()
}

fn put(k: &str, rev: i64, value: &Bytes, prev: Option<&Bytes>) -> StoreEvent {
    StoreEvent {
        delete: false,
        key: Bytes::from(k.as_bytes()),
        value: value.clone(),
        revision: rev,
        prev: prev.cloned(),
    }
}

fn del(k: &str, rev: i64, last: &Bytes) -> StoreEvent {
    StoreEvent {
        delete: true,
        key: Bytes::from(k.as_bytes()),
        value: last.clone(),
        revision: rev,
        prev: Some(last.clone()),
    }
}

fn no_decode(_: &[u8]) -> Result<State, DecodeError> {
    Err(DecodeError("no decode expected".into()))
}

fn node(n: &str) -> Filter {
    Filter {
        fields: vec![FieldTerm {
            field: "spec.nodeName".into(),
            value: n.into(),
            equal: true,
        }],
        ..Filter::default()
    }
}

fn kinds(out: &[(u64, Vec<Delivery>)], id: u64) -> Vec<(EventType, i64)> {
    out.iter()
        .filter(|(i, _)| *i == id)
        .flat_map(|(_, d)| d.iter().map(|d| (d.kind, d.revision)))
        .collect()
}

#[test]
fn reads_states_and_defers_undecidable_ones() {
    let sp = spec();
    let st = sp.read(&pod("ns", "p", "n1", &[("a", "b")])).unwrap();
    assert_eq!(st.namespace(), Some(&b"ns"[..]));
    let fields: Vec<_> = (0..3).map(|i| st.field(i)).collect();
    assert_eq!(
        fields,
        [Some(&b"p"[..]), Some(&b"ns"[..]), Some(&b"n1"[..])]
    );
    assert_eq!(st.label(b"a"), Some(LabelRef::Str(b"b")));
    assert_eq!(st.label(b"x"), None);
    // spec.nodeName an int: only a decode can tell
    let mut d = vec![0x82];
    s(&mut d, "metadata");
    d.push(0x81);
    s(&mut d, "name");
    s(&mut d, "p");
    s(&mut d, "spec");
    d.push(0x81);
    s(&mut d, "nodeName");
    d.push(0x05);
    assert!(sp.read(&Bytes::from(&d[..])).is_none());
    assert!(sp.read(&Bytes::from(&d[..d.len() - 1])).is_none()); // truncated
                                                                 // labels a list: no labels; a label value nil or an int
    let mut l = vec![0x81];
    s(&mut l, "metadata");
    l.push(0x81);
    s(&mut l, "labels");
    l.extend_from_slice(&[0x82, 0xa1, b'x', 0xc0, 0xa1, b'y', 0x07]);
    let st = sp.read(&Bytes::from(&l[..])).unwrap();
    assert_eq!(st.label(b"x"), Some(LabelRef::Nil));
    assert_eq!(st.label(b"y"), Some(LabelRef::Other));
    assert_eq!(st.namespace(), Some(&b""[..]));
    let mut l2 = vec![0x81];
    s(&mut l2, "metadata");
    l2.push(0x81);
    s(&mut l2, "labels");
    l2.extend_from_slice(&[0x91, 0x01]);
    assert!(sp.read(&Bytes::from(&l2[..])).unwrap().labels.is_none());
    // a non-str label key: decode
    let mut l3 = vec![0x81];
    s(&mut l3, "metadata");
    l3.push(0x81);
    s(&mut l3, "labels");
    l3.extend_from_slice(&[0x81, 0x01, 0xa1, b'v']);
    assert!(sp.read(&Bytes::from(&l3[..])).is_none());
}

#[test]
fn node_streams_see_transitions() {
    let mut r = Router::new(spec(), 1, 100);
    assert!(r.add(1, &node("n1"), 0).is_empty());
    assert!(r.add(2, &node("n2"), 0).is_empty());
    let pool = Filter {
        node_names: Some(["n1".to_string(), "n2".to_string()].into()),
        ..Filter::default()
    };
    r.add(3, &pool, 0);
    let v1 = pod("ns", "p", "", &[]);
    let v2 = pod("ns", "p", "n1", &[]);
    let v3 = pod("ns", "p", "n2", &[]);
    let v4 = pod("ns", "p", "n3", &[]);
    let out = r
        .route(
            vec![
                put("k", 1, &v1, None),
                put("k", 2, &v2, Some(&v1)),
                put("k", 3, &v3, Some(&v2)),
                put("k", 4, &v4, Some(&v3)),
                put("k", 5, &v3, Some(&v4)),
                del("k", 6, &v3),
            ],
            &mut no_decode,
        )
        .unwrap();
    use EventType::*;
    assert_eq!(kinds(&out, 1), [(Added, 2), (Deleted, 3)]);
    assert_eq!(
        kinds(&out, 2),
        [(Added, 3), (Deleted, 4), (Added, 5), (Deleted, 6)]
    );
    assert_eq!(
        kinds(&out, 3),
        [
            (Added, 2),
            (Modified, 3),
            (Deleted, 4),
            (Added, 5),
            (Deleted, 6)
        ]
    );
    // a DELETED for leaving the selection carries the previous value
    let d1 = &out.iter().find(|(i, _)| *i == 1).unwrap().1;
    assert_eq!(d1[1].value, v2);
    assert_eq!(r.dispatched(), 6);
    assert_eq!(r.floor(), 0);
}

#[test]
fn replays_the_buffer_and_honours_after_revision() {
    let mut r = Router::new(spec(), 1, 2);
    let v1 = pod("ns", "a", "n1", &[]);
    let v2 = pod("ns", "b", "n1", &[]);
    let v3 = pod("ns", "c", "n1", &[]);
    r.route(
        vec![
            put("a", 1, &v1, None),
            put("b", 2, &v2, None),
            put("c", 3, &v3, None),
        ],
        &mut no_decode,
    )
    .unwrap();
    assert_eq!(r.floor(), 1); // event 1 left the buffer
    let replay = r.add(1, &node("n1"), 1);
    let revs: Vec<i64> = replay.iter().map(|d| d.revision).collect();
    assert_eq!(revs, [2, 3]);
    assert!(r.add(2, &node("n1"), 3).is_empty());
    // a stream from the future gets nothing before its revision
    r.add(3, &node("n1"), 4);
    let v4 = pod("ns", "d", "n1", &[]);
    let out = r
        .route(vec![put("d", 4, &v4, None)], &mut no_decode)
        .unwrap();
    assert_eq!(kinds(&out, 1), [(EventType::Added, 4)]);
    assert_eq!(kinds(&out, 2), [(EventType::Added, 4)]);
    assert!(kinds(&out, 3).is_empty());
    assert!(r.remove(1));
    assert!(!r.remove(1));
    let out = r
        .route(vec![put("d", 5, &v4, Some(&v4))], &mut no_decode)
        .unwrap();
    assert!(kinds(&out, 1).is_empty());
    assert_eq!(kinds(&out, 3), [(EventType::Modified, 5)]);
}

#[test]
fn label_selectors_and_namespaces() {
    let mut r = Router::new(spec(), 1, 10);
    let req = |k: &str, op, vals: &[&str]| LabelReq {
        key: k.into(),
        op,
        values: vals.iter().map(|v| v.to_string()).collect(),
    };
    let sel = |reqs| Filter {
        labels: Labels::All(reqs),
        ..Filter::default()
    };
    r.add(1, &sel(vec![req("app", LabelOp::In, &["web", "db"])]), 0);
    r.add(2, &sel(vec![req("app", LabelOp::NotIn, &["web"])]), 0);
    r.add(3, &sel(vec![req("app", LabelOp::Exists, &[])]), 0);
    r.add(4, &sel(vec![req("app", LabelOp::DoesNotExist, &[])]), 0);
    r.add(5, &sel(vec![req("n", LabelOp::Gt, &["5"])]), 0);
    r.add(
        6,
        &Filter {
            namespace: "other".into(),
            ..Filter::default()
        },
        0,
    );
    r.add(
        7,
        &Filter {
            labels: Labels::Nothing,
            ..Filter::default()
        },
        0,
    );
    let a = pod("ns", "p", "", &[("app", "web"), ("n", "7")]);
    let b = pod("ns", "p", "", &[("app", "api"), ("n", "+3")]);
    let c = pod("ns", "p", "", &[]);
    let o = pod("other", "q", "", &[]);
    let out = r
        .route(
            vec![
                put("p", 1, &a, None),
                put("p", 2, &b, Some(&a)),
                put("p", 3, &c, Some(&b)),
                put("q", 4, &o, None),
            ],
            &mut no_decode,
        )
        .unwrap();
    use EventType::*;
    assert_eq!(kinds(&out, 1), [(Added, 1), (Deleted, 2)]);
    assert_eq!(kinds(&out, 2), [(Added, 2), (Modified, 3), (Added, 4)]);
    assert_eq!(kinds(&out, 3), [(Added, 1), (Modified, 2), (Deleted, 3)]);
    assert_eq!(kinds(&out, 4), [(Added, 3), (Added, 4)]);
    assert_eq!(kinds(&out, 5), [(Added, 1), (Deleted, 2)]);
    assert_eq!(kinds(&out, 6), [(Added, 4)]);
    assert!(kinds(&out, 7).is_empty());
}

#[test]
fn field_inequality_and_unknown_fields() {
    let mut r = Router::new(spec(), 1, 10);
    let ne = Filter {
        fields: vec![FieldTerm {
            field: "spec.nodeName".into(),
            value: "".into(),
            equal: false,
        }],
        ..Filter::default()
    };
    r.add(1, &ne, 0);
    let unknown = Filter {
        fields: vec![FieldTerm {
            field: "status.phase".into(),
            value: "".into(),
            equal: true,
        }],
        ..Filter::default()
    };
    r.add(2, &unknown, 0);
    let a = pod("ns", "p", "", &[]);
    let b = pod("ns", "p", "n1", &[]);
    let out = r
        .route(
            vec![put("p", 1, &a, None), put("p", 2, &b, Some(&a))],
            &mut no_decode,
        )
        .unwrap();
    assert_eq!(kinds(&out, 1), [(EventType::Added, 2)]);
    assert_eq!(
        kinds(&out, 2),
        [(EventType::Added, 1), (EventType::Modified, 2)]
    );
}

#[test]
fn undecidable_states_go_to_the_decoder() {
    let mut r = Router::new(spec(), 1, 10);
    r.add(1, &node("n1"), 0);
    let bad: Bytes = Bytes::from(&b"\x81\xa4spec\x81\xa8nodeName\x05"[..]);
    let mut calls = 0;
    let mut decode = |_: &[u8]| {
        calls += 1;
        Ok(State::new(
            Some("ns".into()),
            vec![Some("p".into()), Some("ns".into()), Some("n1".into())],
            vec![],
        ))
    };
    let out = r
        .route(
            vec![
                put("p", 1, &bad, None),
                put("p", 2, &bad, Some(&bad)),
                StoreEvent {
                    delete: true,
                    key: Bytes::from(&b"x"[..]),
                    value: Bytes::from(&b""[..]),
                    revision: 3,
                    prev: None,
                },
            ],
            &mut decode,
        )
        .unwrap();
    // the modification's previous state came from the cache
    assert_eq!(calls, 2);
    assert_eq!(
        kinds(&out, 1),
        [(EventType::Added, 1), (EventType::Modified, 2)]
    );
    assert_eq!(r.dispatched(), 3);
    let err = r.route(vec![put("z", 4, &bad, None)], &mut no_decode);
    assert_eq!(err.unwrap_err().0, "no decode expected");
}

#[test]
fn state_cache_is_bounded() {
    let mut c = StateCache::default();
    let st = Arc::new(State::new(None, vec![], vec![]));
    for i in 0..1000u32 {
        let k: Bytes = Bytes::from(&i.to_be_bytes()[..]);
        c.put(k.clone(), k, st.clone(), 10);
        c.put(
            Bytes::from(&b"same"[..]),
            Bytes::from(&b"v"[..]),
            st.clone(),
            10,
        );
    }
    assert!(c.map.len() <= 10);
    assert!(c.order.len() <= 2 * 10 + 64 + 1);
    assert!(c.take(b"same", &Bytes::from(&b"v"[..])).is_some());
    assert!(c.take(b"same", &Bytes::from(&b"v"[..])).is_none());
}

#[test]
fn the_trie_walk_finds_what_paths_find_finds() {
    let sp = Spec::new(vec![
        ("a".into(), vec![key("spec"), key("a")], Rule::Get),
        (
            "ip".into(),
            vec![key("status"), key("ips"), Segment::Index(1), key("ip")],
            Rule::Get,
        ),
        (
            "first".into(),
            vec![key("status"), key("ips"), Segment::Index(0)],
            Rule::Get,
        ),
        ("x".into(), vec![key("spec"), Segment::Index(0)], Rule::Get),
    ]);
    let docs: Vec<&[u8]> = vec![
        // duplicate "spec": the last wins; metadata nil
        b"\x83\xa4spec\x81\xa1a\x01\xa4spec\x81\xa1a\xa1z\xa8metadata\xc0",
        // status.ips an array of maps; spec a str
        b"\x82\xa6status\x81\xa3ips\x92\x81\xa2ip\xa1p\x81\xa2ip\xa1q\xa4spec\xa1s",
        // labels and namespace under metadata, ips too short
        b"\x82\xa8metadata\x82\xa6labels\x81\xa1k\xa1v\xa9namespace\xa2ns\xa6status\x81\xa3ips\x91\x01",
        b"\x80",
        b"\xc0",
        b"\x91\x80",
    ];
    for doc in docs {
        for cut in 0..=doc.len() {
            let d = &doc[..cut];
            let mut out = vec![Found::Absent; sp.paths.len()];
            let walked = sp.walk(d, 0, 0, &mut out).map(|()| out);
            assert_eq!(walked, sp.paths.find(d), "{d:?}");
        }
    }
}

#[test]
fn decoded_states_read_like_stored_ones() {
    let st = State::new(
        None,
        vec![Some("a".into()), None, Some("".into())],
        vec![
            ("k".into(), LabelVal::Str("1".into())),
            ("n".into(), LabelVal::Nil),
            ("k".into(), LabelVal::Str("2".into())),
            ("o".into(), LabelVal::Other),
        ],
    );
    assert_eq!(st.namespace(), None);
    assert_eq!(st.field(0), Some(&b"a"[..]));
    assert_eq!(st.field(1), None);
    assert_eq!(st.field(2), Some(&b""[..]));
    assert_eq!(st.label(b"k"), Some(LabelRef::Str(b"2")));
    assert_eq!(st.label(b"n"), Some(LabelRef::Nil));
    assert_eq!(st.label(b"o"), Some(LabelRef::Other));
    assert_eq!(st.label(b"z"), None);
}

#[test]
fn the_hash_spreads_keys_that_differ_in_high_bytes() {
    use std::hash::BuildHasher;
    let mut low = HashSet::new();
    for i in 0..4096u32 {
        // the last digit alone in the tail, the others in a word's high bytes
        let key = format!("/registry/pods/bench/w-ipr-{i:07}");
        low.insert(FxBuild::default().hash_one(key.as_bytes()) & 0xfff);
    }
    // 4096 keys in 4096 buckets: about 63% distinct when uniform (Fx
    // without the mix: 1022).
    assert!(low.len() > 2000, "{}", low.len());
}

#[test]
fn go_ints() {
    assert_eq!(go_int("+12"), Some(12));
    assert_eq!(go_int("-3"), Some(-3));
    assert_eq!(go_int("+"), None);
    assert_eq!(go_int("1a"), None);
    assert_eq!(go_int("99999999999999999999"), None);
}
