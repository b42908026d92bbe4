"""Conformance: the same etcdctl operation sequences against real etcd and kubemu.

Every test starts a fresh pair (Debian's etcd 3.4 on loopback, kubemu's endpoint over a fresh
store), runs identical commands on both (in parallel) and asserts identical output once the
cluster id, member id and raft term/index are dropped. Revisions are compared: both servers
start at revision 1 and see the same writes in the same order. Lease IDs are server-chosen, so
each granted lease gets a symbolic name ("L0", "L1", ...) and outputs are rewritten with it.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubemu._core import EtcdServer
from kubemu.bench.real_etcd import ETCD, RealEtcd, tmpfs_dir
from kubemu.store import Store

from .conftest import ETCDCTL, Etcdctl

pytestmark = pytest.mark.skipif(
    not (ETCD and ETCDCTL), reason="needs etcd-server and etcd-client (apt-get install)"
)

# Fields that legitimately differ between two clusters.
DROPPED = {"cluster_id", "member_id", "raft_term", "raftIndex", "raftTerm", "raftAppliedIndex"}
LEASE_FIELDS = {"ID", "id", "lease"}


# --------------------------------------------------------------------------- normalisation


@dataclass
class Side:
    """One server of the pair, with its lease IDs by symbolic name."""

    name: str
    ctl: Etcdctl
    leases: dict[str, int] = field(default_factory=dict)

    def subst(self, arg: str) -> str:
        """Replaces ``{L0}`` placeholders by this server's lease ID (hex, as etcdctl wants)."""
        for sym, lease in self.leases.items():
            arg = arg.replace("{" + sym + "}", f"{lease:x}")
        return arg

    def symbolise(self, doc: Any) -> Any:
        by_id = {v: k for k, v in self.leases.items()}
        if isinstance(doc, dict):
            out = {}
            for k, v in doc.items():
                if k in DROPPED:
                    continue
                if k in LEASE_FIELDS and isinstance(v, int) and v in by_id:
                    v = by_id[v]
                out[k] = self.symbolise(v)
            return out
        if isinstance(doc, list):
            return [self.symbolise(v) for v in doc]
        if isinstance(doc, str):
            for lease, sym in by_id.items():  # hex (simple output) or decimal (fields)
                doc = re.sub(rf"\b(0*{lease:x}|{lease})\b", sym, doc)
            return doc
        return doc


def parse_output(text: str, side: Side) -> dict[str, Any]:
    """Splits etcdctl's combined stdout+stderr into output, client log records and errors.

    The client's retry log lines are JSON ({"level": ...}); their timestamp and target (a
    random client id and the port) are dropped, the gRPC status and message kept.
    """
    out: list[Any] = []
    logs: list[dict[str, Any]] = []
    errors: list[str] = []
    for line in text.splitlines():
        if line.startswith('{"level"'):
            rec = json.loads(line)
            logs.append({k: v for k, v in rec.items() if k not in ("ts", "target")})
        elif line.startswith("Error:"):
            errors.append(line)
        elif re.match(r'"(ClusterID|MemberID|RaftTerm)" : ', line):
            continue  # -w fields
        elif line.startswith(("{", "[")):
            out.append(json.loads(line))
        else:
            out.append(line)
    result: dict[str, Any] = {"out": side.symbolise(out)}
    if logs:
        result["log"] = logs
    if errors:
        result["error"] = side.symbolise(errors)
    return result


def normalise_lease(doc: Any) -> Any:
    """LeaseTimeToLive: remaining TTLs tick on etcd's wall clock (kubemu's clock is manual),
    so a remaining TTL within 2 s of the granted one becomes "~granted"; etcd lists the
    attached keys in Go map order (random), so they are sorted."""
    if isinstance(doc, dict):
        doc = {k: normalise_lease(v) for k, v in doc.items()}
        granted = doc.get("granted-ttl")
        ttl = doc.get("ttl")
        if isinstance(granted, int) and isinstance(ttl, int) and 0 <= granted - ttl <= 2:
            doc["ttl"] = "~granted"
        if granted is not None and isinstance(doc.get("keys"), list):
            doc["keys"] = sorted(doc["keys"])
        return doc
    if isinstance(doc, list):
        return [normalise_lease(v) for v in doc]
    if isinstance(doc, str):

        def near(m: re.Match[str]) -> str:
            granted, left = int(m.group(1)), int(m.group(2))
            return m.group(0) if not 0 <= granted - left <= 2 else f"TTL({granted}s), ~granted"

        doc = re.sub(r"TTL\((\d+)s\), remaining\((\d+)s\)", near, doc)
        return re.sub(
            r"attached keys\(\[(.*)\]\)",
            lambda m: f"attached keys([{' '.join(sorted(m.group(1).split()))}])",
            doc,
        )
    return doc


# --------------------------------------------------------------------------- the pair


class Pair:
    """Real etcd and kubemu, driven with identical etcdctl commands."""

    def __init__(self, etcd: Etcdctl, kubemu: Etcdctl) -> None:
        self.etcd = Side("etcd", etcd)
        self.kubemu = Side("kubemu", kubemu)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self.store: Store | None = None  # kubemu's store (its clock is manual)

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.etcd, self.kubemu)

    def run(self, *args: str, input: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Runs one command on both servers at once; returns both normalised outputs."""

        def one(side: Side) -> dict[str, Any]:
            argv = [side.subst(a) for a in args]
            text = side.ctl.run(*argv, input=side.subst(input) if input else None, check=False)
            return parse_output(text, side)

        on_etcd = self._pool.submit(one, self.etcd)
        on_kubemu = one(self.kubemu)
        return on_etcd.result(), on_kubemu

    def check(
        self,
        *args: str,
        input: str | None = None,
        ok: bool | None = None,
        transform: Callable[[Any], Any] = lambda res: res,
    ) -> Any:
        """Runs a command on both and asserts identical normalised output.

        ``ok=True`` also requires success (no error), ``ok=False`` an error. ``transform``
        rewrites both normalised results before they are compared. Returns etcd's normalised
        result.
        """
        want, got = self.run(*args, input=input)
        want, got = transform(normalise_lease(want)), transform(normalise_lease(got))
        cmd = " ".join(args) + (f" <<< {input[:200]!r}" if input else "")
        assert got == want, f"etcdctl {cmd}\n etcd:   {want}\n kubemu: {got}"
        if ok is not None:
            assert ("error" not in want) == ok, f"etcdctl {cmd}: {want}"
        return want

    def json(self, *args: str, input: str | None = None) -> Any:
        """``check`` with ``-w json``; requires success and returns etcd's parsed document."""
        res = self.check(*args, "-w", "json", input=input, ok=True)
        assert len(res["out"]) == 1, res
        return res["out"][0]

    def grant(self, sym: str, ttl: int) -> None:
        """Grants a lease on both servers and names it ``sym``."""
        for side in self.sides:
            doc = json.loads(side.ctl.run("lease", "grant", "-w", "json", "--", str(ttl)))
            side.leases[sym] = doc["ID"]
        self.check("lease", "timetolive", "{" + sym + "}", "-w", "json", ok=True)

    def revision(self) -> int:
        return int(self.json("get", "never-written")["header"]["revision"])

    def close(self) -> None:
        self._pool.shutdown()


@pytest.fixture
def pair() -> Iterator[Pair]:
    with RealEtcd(data_parent=tmpfs_dir()) as etcd, Store(manual_clock=True) as store:
        server = EtcdServer(store, "127.0.0.1", 0)
        p = Pair(Etcdctl(etcd.address), Etcdctl(server.address))
        p.store = store
        try:
            yield p
        finally:
            p.close()
            server.stop()


# --------------------------------------------------------------------------- watch


def _start_watch(
    side: Side, args: tuple[str, ...]
) -> tuple[subprocess.Popen[str], queue.Queue[str | None]]:
    assert ETCDCTL
    proc = subprocess.Popen(
        [ETCDCTL, f"--endpoints={side.ctl.endpoint}", "watch", *args, "-w", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _collect(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    done: Callable[[list[dict[str, Any]]], bool],
    deadline: float,
) -> str:
    """Reads watch output until ``done(responses)``, etcdctl's exit or the deadline."""
    got: list[str] = []
    responses: list[dict[str, Any]] = []
    try:
        while not done(responses):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            got.append(line)
            if line.startswith('{"Header"'):
                responses.append(json.loads(line))
    finally:
        proc.kill()
        proc.wait()
    return "".join(got)


def watch(
    pair: Pair,
    *args: str,
    events: int | None = None,
    until_rev: int | None = None,
    timeout: float = 5.0,
    transform: Callable[[Any], Any] = lambda res: res,
    during: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``etcdctl watch ARGS -w json`` on both servers; asserts both printed the same.

    Reads until ``events`` events arrived, or an event of revision ``until_rev``, or (neither
    given) until etcdctl exits, as it does when the server cancels the watch. The responses
    are compared in full (events, and how they are grouped into responses, included).
    ``during`` runs once both watches are started (writes for a live watch).
    """

    def done(responses: list[dict[str, Any]]) -> bool:
        evs = [ev for r in responses for ev in r["Events"] or []]
        if events is not None:
            return len(evs) >= events
        if until_rev is not None:
            return any(ev["kv"]["mod_revision"] >= until_rev for ev in evs)
        return False

    started = [
        (side, *_start_watch(side, tuple(side.subst(a) for a in args))) for side in pair.sides
    ]
    if during is not None:
        during()
    deadline = time.monotonic() + timeout
    results = []
    for side, proc, lines in started:
        text = _collect(proc, lines, done, deadline)
        parsed = parse_output(text, side)
        responses = [o for o in parsed["out"] if isinstance(o, dict)]
        parsed["events"] = [ev for r in responses for ev in r["Events"] or []]
        parsed["responses"] = [{k: v for k, v in r.items() if k != "Events"} for r in responses]
        parsed["out"] = [o for o in parsed["out"] if not isinstance(o, dict)]
        results.append(parsed)
    want, got = (transform(r) for r in results)
    assert got == want, f"etcdctl watch {' '.join(args)}\n etcd:   {want}\n kubemu: {got}"
    if events is not None:
        assert len(want["events"]) == events, want
    result: dict[str, Any] = want
    return result


# --------------------------------------------------------------------------- tests


def test_put_and_get_options(pair: Pair) -> None:
    for k, v in [("a/1", "z"), ("a/2", "y"), ("a/3", "x"), ("b", "w"), ("c/1", "v")]:
        pair.json("put", k, v)
    pair.json("put", "a/2", "yy", "--prev-kv")
    pair.json("put", "new", "n", "--prev-kv")  # no previous value
    pair.json("put", "b", "--ignore-value")
    pair.check("put", "b", "w2", "--prev-kv", ok=True)  # simple output: OK + prev kv
    pair.check("put", "nothere", "--ignore-value", ok=False)
    pair.check("put", "", "v", ok=False)

    pair.json("get", "a/2")
    pair.json("get", "missing")
    pair.json("get", "a/", "--prefix")
    pair.json("get", "", "--prefix")
    pair.json("get", "a/2", "--from-key")
    pair.json("get", "", "--from-key")
    pair.json("get", "a/2", "c")  # explicit range end
    pair.json("get", "c", "a")  # range end before key: empty
    for limit in ("1", "2", "3", "4", "100"):
        pair.json("get", "a/", "--prefix", "--limit", limit)
        pair.json("get", "a/", "--from-key", "--limit", limit)
    pair.json("get", "a/", "--prefix", "--keys-only")
    pair.json("get", "a/", "--prefix", "--keys-only", "--limit", "1")
    pair.json("get", "a/", "--prefix", "--consistency", "s")
    for rev in ("1", "2", "3", "6", "7", "9"):
        pair.json("get", "", "--prefix", "--rev", rev)
        pair.json("get", "a/2", "--rev", rev)
        pair.json("get", "a/", "--prefix", "--rev", rev, "--limit", "1")
    # simple and other output formats
    pair.check("get", "a/", "--prefix", ok=True)
    pair.check("get", "a/", "--prefix", "--keys-only", ok=True)
    pair.check("get", "a/", "--prefix", "--print-value-only", ok=True)
    pair.check("get", "a/", "--prefix", "--hex", ok=True)
    pair.check("get", "a/", "--prefix", "-w", "fields", ok=True)
    pair.check("get", "missing", ok=True)


def test_get_sort_orders(pair: Pair) -> None:
    # Distinct create/mod revisions, versions and values, in orders unlike the key order;
    # plus ties (equal versions, equal values) to pin the tie order of small results.
    writes = [
        ("s/d", "3"),
        ("s/b", "1"),
        ("s/e", "1"),
        ("s/a", "5"),
        ("s/c", "2"),
        ("s/b", "4"),
        ("s/d", "9"),
        ("s/d", "0"),
        ("s/f", "5"),
    ]
    for k, v in writes:
        pair.json("put", k, v)
    for target in ("", "KEY", "VERSION", "CREATE", "MODIFY", "VALUE"):
        for order in ("", "ASCEND", "DESCEND"):
            opts = (["--sort-by", target] if target else []) + (["--order", order] if order else [])
            pair.json("get", "s/", "--prefix", *opts)
            pair.json("get", "s/", "--prefix", "--limit", "2", *opts)
            pair.json("get", "s/", "--prefix", "--keys-only", "--limit", "3", *opts)
    pair.json("get", "s/", "--prefix", "--rev", "5", "--sort-by", "VALUE", "--order", "DESCEND")


def test_delete(pair: Pair) -> None:
    for k in ("p/1", "p/2", "p/3", "q", "r/1", "r/2", "s"):
        pair.json("put", k, "v-" + k)
    pair.json("del", "nothing")
    pair.json("del", "nothing", "--prev-kv")
    pair.json("del", "zz/", "--prefix", "--prev-kv")
    pair.check("del", "nothing", ok=True)  # simple: "0"
    pair.json("del", "q", "--prev-kv")
    pair.json("del", "q", "--prev-kv")  # deleted already
    pair.json("del", "p/", "--prefix", "--prev-kv")
    pair.check("del", "r/1", "--prev-kv", ok=True)  # simple
    pair.json("put", "p/1", "again")
    pair.json("del", "p/1", "r/9")  # range end argument
    pair.json("del", "s", "--from-key", "--prev-kv")
    pair.json("get", "", "--prefix")
    for rev in range(1, pair.revision() + 1):
        pair.json("get", "", "--prefix", "--rev", str(rev))


TXNS = [
    # (compares, success ops, failure ops)
    (['value("k") = "v1"'], ["put k v2", "put other x"], ["put k failed"]),
    (['value("k") = "v1"'], ["put k v2"], ["put k failed", "get k"]),
    (['value("k") != "v1"', 'version("k") = "3"'], ["get k", "put k v3"], ["del k"]),
    (['value("k") > "v2"'], ["put k vv"], ["put k v0"]),
    (['value("k") < "v1"'], ["put k a"], ["put k b"]),
    (['version("k") > "1"', 'version("k") < "100"'], ["put k c"], []),
    (['version("k") != "7"'], [], ["put k d"]),
    (['create("k") = "2"'], ["put k e"], ["put k f"]),
    (['create("k") > "1"', 'create("k") < "3"'], ["put k g"], []),
    (['create("k") != "2"'], ["put k h"], ["put k i"]),
    (['mod("k") = "12"'], ["put k j"], ["put k jj"]),
    (['mod("k") > "12"', 'mod("k") < "100"'], ["put k l"], ["put k m"]),
    (['mod("k") != "14"'], ["put k n"], ["get k"]),
    # absent key: a value compare always fails, even !=; version/create/mod compare as 0
    (['value("absent") = "x"'], ["put absent s"], ["put absent-f 1"]),
    (['value("absent") != "x"'], ["put absent s"], ["put absent-f 2"]),
    (['value("absent") < "zzz"'], ["put absent s"], ["put absent-f 3"]),
    (['value("absent") > ""'], ["put absent s"], ["put absent-f 4"]),
    (['version("absent") = "0"'], ["put absent-v 1"], ["put absent-f 5"]),
    (['create("absent") = "0"', 'mod("absent") = "0"'], ["get absent-v"], []),
    (['create("absent") > "0"'], [], ["get absent-f"]),
    # several ops of each kind, reads seeing the branch's earlier writes
    ([], ["put t/1 a", "put t/2 b", "get t/ --prefix", "del t/0 --prev-kv", "get t/ --prefix"], []),
    ([], ["del t/1 --prev-kv", "get t/ --prefix", "put t/0 0"], []),
    (
        ['value("t/2") = "b"'],
        ["del t/ --prefix --prev-kv", "put u/3 c", "get t/ --from-key --limit 1"],
        [],
    ),
    (['version("u/3") = "1"'], ["get t/ --prefix --sort-by=VALUE --order=DESCEND --rev=3"], []),
    ([], ["del none", "get none", "put z/1 1 --prev-kv", "put z/2 2"], []),
    ([], ["get z/ --prefix --keys-only --limit 1", "get z/ --prefix --sort-by=CREATE"], []),
    ([], ["put z/3 3 --prev-kv", "del z/ z/3 --prev-kv", "del z/1"], []),
]


def txn_script(compares: list[str], success: list[str], failure: list[str]) -> str:
    return "\n".join([*compares, "", *success, "", *failure, "", ""])


def test_txn(pair: Pair) -> None:
    pair.json("put", "k", "v1")
    for i, (compares, success, failure) in enumerate(TXNS):
        script = txn_script(compares, success, failure)
        if i % 4 == 3:
            pair.check("txn", input=script, ok=True)  # simple output
        else:
            pair.json("txn", input=script)
    pair.json("get", "", "--prefix")


def test_txn_errors(pair: Pair) -> None:
    pair.json("put", "k", "v")
    rev = pair.revision()
    pair.check("txn", input=txn_script([], ["put a 1", "put a 2"], []), ok=False)
    pair.check("txn", input=txn_script([], ["put p/1 1", "del p/ --prefix"], []), ok=False)
    pair.check("txn", input=txn_script([], [], ["put a 1", "put a 2"]), ok=False)
    pair.check("txn", input=txn_script([], ["put a 1"], ["put a 2"]), ok=True)  # fine
    too_many = [f"put many/{i} v" for i in range(129)]
    pair.check("txn", input=txn_script([], too_many, []), ok=False)
    pair.json("txn", input=txn_script([], too_many[:128], []))  # the limit itself is fine
    pair.check("txn", input=txn_script([], ["get k --rev=999"], []), ok=False)
    pair.check("txn", input=txn_script([], ["put  v"], []), ok=False)  # empty key
    # max-request-bytes (1.5 MiB) and the client's 2 MiB send limit
    pair.check("txn", input=txn_script([], [f"put big {'x' * 1_600_000}"], []), ok=False)
    pair.check("put", "big", input="x" * 1_600_000, ok=False)
    pair.check("put", "big", input="x" * 3_000_000, ok=False)
    pair.json("put", "big", input="x" * 1_000_000)
    pair.json("get", "", "--prefix", "--keys-only", "--limit", "3")
    assert pair.revision() == rev + 3


def test_compaction_and_revision_errors(pair: Pair) -> None:
    for i in range(6):
        pair.json("put", f"c/{i % 3}", f"v{i}")
    pair.json("del", "c/0")
    rev = pair.revision()
    assert rev == 8
    pair.check("get", "c/", "--prefix", "--rev", "9", ok=False)  # future
    pair.check("get", "c/", "--prefix", "--rev", "100", ok=False)
    pair.check("compaction", "9", ok=False)  # future
    pair.check("compaction", "4", ok=True)
    pair.check("get", "c/", "--prefix", "--rev", "3", ok=False)  # compacted
    pair.check("get", "c/1", "--rev", "1", ok=False)
    pair.json("get", "c/", "--prefix", "--rev", "4")  # the compaction revision itself
    pair.json("get", "c/", "--prefix", "--rev", "5")
    pair.json("get", "c/", "--prefix", "--rev", "0")
    pair.check("compaction", "4", ok=False)  # already compacted
    pair.check("compaction", "2", ok=False)
    pair.check("compaction", "6", "--physical", ok=True)
    pair.check("get", "c/", "--prefix", "--rev", "5", ok=False)
    pair.json("get", "c/", "--prefix", "--rev", "6")
    # the current revision, a delete: once compacted physically, etcd's replay from there
    # skips that tombstone (before, it may or may not include it)
    pair.check("compaction", "8", "--physical", ok=True)
    pair.json("get", "c/", "--prefix", "--rev", "8")
    pair.json("get", "", "--from-key")
    pair.json("put", "c/1", "after")
    pair.json("get", "c/", "--prefix")
    res = watch(pair, "c/", "--prefix", "--rev", "8", "--prev-kv", until_rev=9)
    assert [ev["kv"]["mod_revision"] for ev in res["events"]] == [9]


def test_leases(pair: Pair) -> None:
    pair.grant("L0", 60)
    pair.grant("L1", 300)
    pair.grant("L2", 30)
    pair.grant("L3", 120)
    pair.json("put", "l/a", "1", "--lease={L0}")
    pair.json("put", "l/b", "2", "--lease={L0}")
    pair.json("put", "l/c", "3", "--lease={L1}")
    pair.json("put", "l/d", "4")
    pair.json("get", "l/", "--prefix")
    pair.json("put", "l/a", "1b", "--ignore-lease", "--prev-kv")
    pair.json("put", "l/c", "--ignore-value", "--ignore-lease")
    pair.json("put", "l/d", "5", "--lease={L1}", "--prev-kv")
    pair.json("put", "l/d", "6", "--prev-kv")  # detaches the lease
    pair.json("get", "l/", "--prefix")
    pair.check("put", "l/x", "v", "--ignore-lease", ok=False)  # key not found
    pair.check("put", "l/x", "v", "--lease=1234", ok=False)  # lease not found
    for sym in ("L0", "L1", "L2"):
        pair.json("lease", "timetolive", "{" + sym + "}", "--keys")
        pair.check("lease", "timetolive", "{" + sym + "}", "--keys", ok=True)
    pair.json("lease", "timetolive", "{L0}")
    # etcd lists leases by expiry, kubemu by ID: test_lease_list_order
    pair.check("lease", "list", "-w", "json", ok=True, transform=leases_sorted)
    pair.check("lease", "list", ok=True, transform=leases_sorted)
    pair.json("lease", "keep-alive", "--once", "{L0}")
    pair.check("lease", "keep-alive", "--once", "{L1}", ok=True)
    pair.check("lease", "revoke", "{L0}", ok=True)
    pair.json("get", "l/", "--prefix")
    pair.json("get", "l/", "--prefix", "--rev", "2")
    pair.json("lease", "timetolive", "{L0}", "--keys")
    pair.check("lease", "timetolive", "{L0}", ok=True)
    pair.check("lease", "revoke", "{L0}", ok=False)
    pair.check("lease", "keep-alive", "--once", "{L0}", ok=False)
    pair.check("put", "l/z", "v", "--lease={L0}", ok=False)
    pair.check("lease", "revoke", "{L2}", ok=True)  # no keys: no revision
    pair.json("lease", "revoke", "{L1}")
    pair.check("lease", "list", "-w", "json", ok=True, transform=leases_sorted)
    pair.check("lease", "grant", "9000000001", ok=False)  # too large TTL
    for ttl in ("0", "1", "-5"):  # raised to etcd's minimum TTL (2 s here): revoked at once
        pair.grant("short", int(ttl))
        pair.check("lease", "revoke", "{short}", ok=True)
        del pair.etcd.leases["short"], pair.kubemu.leases["short"]
    pair.grant("L4", 60)
    pair.json("put", "l/e", "1", "--lease={L4}")
    pair.json("del", "l/e")  # detaches the key
    pair.json("txn", input=txn_script([], ["put l/f 2 --lease={L4}", "put l/g 3"], []))
    pair.json("lease", "timetolive", "{L4}", "--keys")
    pair.json("get", "l/", "--prefix")
    pair.json("lease", "revoke", "{L4}")
    pair.json("get", "", "--prefix")
    watch(pair, "l/", "--prefix", "--rev", "1", "--prev-kv", events=16)


def leases_sorted(res: dict[str, Any]) -> dict[str, Any]:
    """Lease lists, in lease-name order."""
    out = res["out"]
    if out and isinstance(out[0], dict):
        out[0]["leases"].sort(key=lambda lease: str(lease["id"]))
    elif out:
        out[1:] = sorted(out[1:])
    return res


def test_lease_list_order(pair: Pair) -> None:
    """Both list leases by expiry: a renewed lease goes last."""
    pair.grant("L0", 60)
    pair.grant("L1", 60)
    # etcd's wall clock moves between grant and keep-alive; kubemu's manual one is moved too
    # (else both leases would expire at the same instant and list in id order).
    assert pair.store is not None
    pair.store.advance_clock(1)
    # Renewing the lease with the smaller kubemu ID puts it last, away from id order.
    first = min(("L0", "L1"), key=lambda sym: pair.kubemu.leases[sym])
    pair.check("lease", "keep-alive", "--once", "{" + first + "}", ok=True)
    res = pair.json("lease", "list")
    assert [lease["id"] for lease in res["leases"]] == [*sorted({"L0", "L1"} - {first}), first]


def test_watch_replay(pair: Pair) -> None:
    pair.json("put", "w/a", "1")  # 2
    pair.json("put", "w/b", "2")  # 3
    pair.json("del", "w/a")  # 4
    pair.json("put", "w/a", "3")  # 5
    pair.json("put", "x", "0")  # 6
    pair.json("put", "w/b", "4")  # 7
    pair.json("del", "w/", "--prefix")  # 8
    pair.json("put", "w/c", "5")  # 9
    pair.json("txn", input=txn_script([], ["put w/a 6", "put w/d 7", "del w/c"], []))  # 10
    pair.json("put", "x", "1")  # 11
    watch(pair, "w/", "--prefix", "--rev", "1", events=11)
    watch(pair, "w/", "--prefix", "--rev", "2", "--prev-kv", events=11)
    watch(pair, "w/", "--prefix", "--rev", "8", "--prev-kv", events=6)
    watch(pair, "w/a", "--rev", "1", "--prev-kv", events=5)
    watch(pair, "w/b", "w/d", "--rev", "3", events=5)  # explicit range end
    watch(pair, "", "--prefix", "--rev", "5", events=10)
    watch(pair, "x", "--rev", "1", "--prev-kv", events=2)
    pair.check("compaction", "5", "--physical", ok=True)
    # compacted: canceled (the header revision: test_watch_compacted_cancel_header)
    watch(pair, "w/", "--prefix", "--rev", "4", transform=without_cancel_revision)
    watch(pair, "w/", "--prefix", "--rev", "5", events=8)
    # prev_kv of the event at the compaction revision itself would be read below it
    watch(pair, "w/", "--prefix", "--rev", "5", "--prev-kv", events=8)
    watch(pair, "x", "--rev", "6", "--prev-kv", events=2)
    watch(pair, "x", "w", "--rev", "6")  # range end before the key: canceled
    watch(pair, "w/a", "w/a", "--rev", "6")  # empty range: canceled


def test_watch_negative_start_revision(pair: Pair) -> None:
    pair.json("put", "a", "1")
    res = watch(pair, "a", "--rev", "-3")
    assert res["responses"][0]["CompactRevision"] == -1


def without_cancel_revision(res: dict[str, Any]) -> dict[str, Any]:
    for r in res["responses"]:
        if r["Canceled"]:
            r["Header"].pop("revision", None)
    return res


def test_watch_compacted_cancel_header(pair: Pair) -> None:
    pair.json("put", "x", "1")
    pair.json("put", "x", "2")
    pair.check("compaction", "3", ok=True)
    res = watch(pair, "x", "--rev", "2")
    assert res["responses"] == [
        {"Header": {}, "CompactRevision": 3, "Canceled": True, "Created": False}
    ]


def events_only(res: dict[str, Any]) -> dict[str, Any]:
    """Live watches: how events are grouped into responses depends on timing."""
    res["responses"] = []
    return res


def test_watch_live_from_future_revision(pair: Pair) -> None:
    pair.json("put", "f/a", "0")
    rev = pair.revision()

    def writes() -> None:
        pair.json("put", "f/a", "1")  # rev + 1: before the start revision
        pair.json("put", "f/a", "2")
        pair.json("del", "f/a")
        pair.json("txn", input=txn_script([], ["put f/b 1", "put f/c 2", "put g 3"], []))
        pair.json("put", "f/b", "2")

    args = ("f/", "--prefix", "--rev", str(rev + 2), "--prev-kv")
    res = watch(pair, *args, events=5, during=writes, transform=events_only)
    assert [ev["kv"]["mod_revision"] for ev in res["events"]] == [rev + r for r in (2, 3, 4, 4, 5)]


def test_request_size_limit_boundary(pair: Pair) -> None:
    # The limit applies to the whole encoded raft proposal: a put whose key + value fit with 12
    # bytes to spare is refused by both; one with 40 to spare passes on both.
    pair.check("put", "k", input="x" * (1536 * 1024 - 12), ok=False)
    pair.check("put", "k", input="x" * (1536 * 1024 - 40), ok=True)


def _random_op(rng: random.Random, rev: int, compacted: int) -> tuple[list[str], str | None]:
    keys = ["a", "b", "c", "d/1", "d/2", "d/3", "e"]
    key = rng.choice(keys)
    value = rng.choice(["x", "y", "z", "xx", ""]) or "0"
    kind = rng.choices(
        ["put", "del", "delrange", "txn", "compact", "get"], weights=[40, 12, 6, 20, 4, 18]
    )[0]
    prev = ["--prev-kv"] if rng.random() < 0.5 else []
    if kind == "put":
        return ["put", key, value, *prev], None
    if kind == "del":
        return ["del", key, *prev], None
    if kind == "delrange":
        return (
            ["del", "d/", "--prefix", *prev] if rng.random() < 0.5 else ["del", "c", "d/3"]
        ), None
    if kind == "compact":
        # mostly valid revisions, sometimes compacted or future ones
        compact_at = rng.randint(max(1, compacted - 2), rev + 1)
        # --physical: etcd drops a tombstone at the compaction revision itself (its watch
        # replay then starts after it, as kubemu's does) in the background, so without waiting
        # for that a replay from there may or may not include the delete event.
        return ["compaction", str(compact_at), "--physical"], None
    if kind == "get":
        at = rng.randint(max(1, compacted - 1), rev + 1)
        opts = rng.choice([["--prefix"], ["--from-key"], [], ["--prefix", "--limit", "2"]])
        return ["get", rng.choice(["", "d/", key]), *opts, "--rev", str(at)], None
    target = rng.choice(["value", "version", "create", "mod"])
    operator = rng.choice(["=", "!=", "<", ">"])
    operand = (
        value
        if target == "value"
        else str(rng.randint(0, rev + 1) if target != "version" else rng.randint(0, 4))
    )
    compares = [f'{target}("{key}") {operator} "{operand}"'] if rng.random() < 0.9 else []

    def ops() -> list[str]:
        out = []
        for k in rng.sample(keys, rng.randint(0, 3)):
            out.append(
                rng.choice(
                    [
                        f"put {k} {rng.choice(['p', 'q'])}",
                        f"del {k}",
                        f"get {k}",
                        f"get {k} --prefix",
                    ]
                )
            )
        return out

    return ["txn"], txn_script(compares, ops(), ops())


@pytest.mark.parametrize("seed", [20240607, 7])
def test_random_sequence(pair: Pair, seed: int) -> None:
    rng = random.Random(seed)
    rev, compacted = 1, 0
    for i in range(200):
        if i % 50 == 49:  # replay the history from the first retained revision
            prev_kv = ["--prev-kv"] if i % 100 == 49 else []
            start = str(max(compacted, 1))
            watch(pair, "", "--prefix", "--rev", start, *prev_kv, until_rev=rev)
        args, script = _random_op(rng, rev, compacted)
        if args[0] == "compaction":
            res = pair.check(*args)
            if "error" not in res:
                compacted = int(args[1])
            continue
        res = pair.check(*args, "-w", "json", input=script)
        for doc in res["out"]:
            if isinstance(doc, dict) and "header" in doc:
                rev = max(rev, doc["header"]["revision"])
    assert rev == pair.revision()
    pair.json("get", "", "--from-key")
    first = max(compacted, 1)
    for at in sorted({first, (first + rev) // 2, rev}):
        pair.json("get", "", "--from-key", "--rev", str(at))
    events = watch(pair, "", "--prefix", "--rev", str(first), "--prev-kv", until_rev=rev)
    assert events["events"][-1]["kv"]["mod_revision"] == rev
