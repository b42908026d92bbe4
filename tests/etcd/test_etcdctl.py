"""Real etcdctl (ETCDCTL_API=3) against kubemu's etcd endpoint."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from kubemu._core import EtcdServer
from kubemu.store import Store

from .conftest import ETCDCTL, Etcdctl


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def keys(doc: dict) -> list[str]:  # type: ignore[type-arg]
    return [base64.b64decode(kv["key"]).decode() for kv in doc.get("kvs", [])]


def test_put_get_revisions_and_prev_kv(etcdctl: Etcdctl, store: Store) -> None:
    assert etcdctl.run("put", "foo", "bar").strip() == "OK"
    doc = etcdctl.json("get", "foo")
    kv = doc["kvs"][0]
    assert (kv["key"], kv["value"], kv["version"], kv["create_revision"]) == (
        b64("foo"),
        b64("bar"),
        1,
        2,
    )
    assert doc["header"]["revision"] == store.revision == 2
    out = etcdctl.run("put", "foo", "baz", "--prev-kv")
    assert out.splitlines() == ["OK", "foo", "bar"]
    assert store.get(b"foo").value == b"baz"  # type: ignore[union-attr]


def test_get_options(etcdctl: Etcdctl) -> None:
    for k, v in [("a/1", "z"), ("a/2", "y"), ("a/3", "x"), ("b", "w")]:
        etcdctl.run("put", k, v)
    assert keys(etcdctl.json("get", "a/", "--prefix")) == ["a/1", "a/2", "a/3"]
    assert keys(etcdctl.json("get", "a/2", "--from-key")) == ["a/2", "a/3", "b"]
    limited = etcdctl.json("get", "a/", "--prefix", "--limit", "2")
    assert (keys(limited), limited["more"], limited["count"]) == (["a/1", "a/2"], True, 3)
    assert etcdctl.run("get", "a/", "--prefix", "--keys-only").split() == ["a/1", "a/2", "a/3"]
    by_value = etcdctl.json("get", "a/", "--prefix", "--sort-by", "VALUE", "--order", "ASCEND")
    assert keys(by_value) == ["a/3", "a/2", "a/1"]
    assert keys(etcdctl.json("get", "a/", "--prefix", "--rev", "3")) == ["a/1", "a/2"]


def test_delete_prefix_with_prev_kv(etcdctl: Etcdctl, store: Store) -> None:
    for k in ("p/1", "p/2", "q"):
        etcdctl.run("put", k, "v")
    assert etcdctl.run("del", "p/", "--prefix", "--prev-kv").splitlines() == [
        "2",
        "p/1",
        "v",
        "p/2",
        "v",
    ]
    assert [kv.key for kv in store.range(b"\x00", b"\x00").kvs] == [b"q"]


def test_txn_from_stdin(etcdctl: Etcdctl, store: Store) -> None:
    etcdctl.run("put", "k", "v1")
    script = 'value("k") = "v1"\n\nput k v2\nput other x\n\nput k failed\n\n'
    out = etcdctl.run("txn", input=script)
    assert out.splitlines()[0] == "SUCCESS"
    assert store.get(b"k").value == b"v2"  # type: ignore[union-attr]
    assert store.get(b"other").value == b"x"  # type: ignore[union-attr]
    out = etcdctl.run("txn", input=script)
    assert out.splitlines()[0] == "FAILURE"
    assert store.get(b"k").value == b"failed"  # type: ignore[union-attr]


def test_lease_lifecycle(etcdctl: Etcdctl, store: Store) -> None:
    lease_hex = etcdctl.run("lease", "grant", "60").split()[1]
    lease = int(lease_hex, 16)
    assert store.leases() == [lease]
    etcdctl.run("put", "leased", "v", f"--lease={lease_hex}")
    ttl = etcdctl.run("lease", "timetolive", lease_hex, "--keys")
    assert "granted with TTL(60s)" in ttl and "attached keys([leased])" in ttl
    assert lease_hex in etcdctl.run("lease", "list")
    assert "keepalived with TTL(60)" in etcdctl.run("lease", "keep-alive", "--once", lease_hex)
    assert "revoked" in etcdctl.run("lease", "revoke", lease_hex)
    assert store.get(b"leased") is None
    assert "requested lease not found" in etcdctl.run("lease", "revoke", lease_hex, check=False)


def test_watch_replays_history_with_prev_kv(etcdctl: Etcdctl) -> None:
    etcdctl.run("put", "w/a", "1")
    etcdctl.run("put", "w/a", "2")
    etcdctl.run("del", "w/a")
    assert ETCDCTL
    proc = subprocess.Popen(
        [
            ETCDCTL,
            f"--endpoints={etcdctl.endpoint}",
            "watch",
            "w/",
            "--prefix",
            "--rev=2",
            "--prev-kv",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(9)]
    finally:
        proc.kill()
        proc.wait()
    assert lines == [
        "PUT",
        "w/a",
        "1",
        "PUT",
        "w/a",
        "1",
        "w/a",
        "2",
        "DELETE",
    ]


def test_maintenance_and_cluster(etcdctl: Etcdctl, tmp_path: Path) -> None:
    etcdctl.run("put", "x", "1")
    etcdctl.run("put", "x", "2")
    assert "is healthy" in etcdctl.run("endpoint", "health", check=False)
    status = etcdctl.json("endpoint", "status")[0]["Status"]
    assert status["leader"] == status["header"]["member_id"]
    assert status["dbSize"] > 0
    assert "ENDPOINT" in etcdctl.run("endpoint", "status", "-w", "table")
    assert etcdctl.json("endpoint", "hashkv")[0]["HashKV"]["hash"] != 0
    members = etcdctl.json("member", "list")["members"]
    assert len(members) == 1 and members[0]["clientURLs"] == [f"http://{etcdctl.endpoint}"]
    assert etcdctl.run("alarm", "list") == ""
    assert "compacted revision 2" in etcdctl.run("compaction", "2")
    assert "Finished defragmenting" in etcdctl.run("defrag")
    snap = tmp_path / "snap.db"
    etcdctl.run("snapshot", "save", str(snap))
    assert snap.stat().st_size % 512 == 32


def test_errors_have_etcd_messages(etcdctl: Etcdctl) -> None:
    etcdctl.run("put", "k", "v")
    assert "required revision is a future revision" in etcdctl.run(
        "get", "k", "--rev", "99", check=False
    )
    etcdctl.run("compaction", "2")
    assert "required revision has been compacted" in etcdctl.run(
        "get", "k", "--rev", "1", check=False
    )
    out = etcdctl.run("member", "add", "other", "--peer-urls=http://127.0.0.1:2390", check=False)
    assert "single member" in out


def http_get(endpoint: str, path: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    try:
        with urllib.request.urlopen(f"http://{endpoint}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_http_health_and_version_follow_alarms() -> None:
    with Store(quota_bytes=64 * 1024) as store:
        server = EtcdServer(store, "127.0.0.1", 0)
        try:
            ctl = Etcdctl(server.address)
            assert http_get(server.address, "/health") == (200, {"health": "true", "reason": ""})
            code, version = http_get(server.address, "/version")
            assert code == 200 and version["etcdserver"] == version["etcdcluster"]
            out = ""
            for i in range(200):
                out = ctl.run("put", f"k{i}", "v" * 1024, check=False)
                if "database space exceeded" in out:
                    break
            assert "database space exceeded" in out
            assert "alarm:NOSPACE" in ctl.run("alarm", "list")
            assert http_get(server.address, "/health") == (
                503,
                {"health": "false", "reason": "ALARM NOSPACE"},
            )
            ctl.run("del", "k", "--prefix")
            ctl.run("compaction", str(store.revision))
            ctl.run("defrag")
            ctl.run("alarm", "disarm")
            assert http_get(server.address, "/health")[0] == 200
        finally:
            server.stop()
