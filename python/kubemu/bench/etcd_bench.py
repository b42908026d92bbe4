"""kubemu's etcd endpoint against real etcd, through an independent client, uncapped.

Run (from a checkout; needs cargo, Debian's etcd-server and protobuf-compiler)::

    python -m kubemu.bench.etcd_bench [--runs N] [--seconds S] [--clients 1,100,1000]
                                      [--ops put,txn-put,range] [--json FILE]

Both servers run as their own processes with durable data dirs on the same disk
(``--data-parent``, default the system temp dir): real etcd (``etcd``, one member) and
``kubemu etcd``. The load comes from ``kubemu-etcd-bench`` (rust/kubemu-etcd-bench), a
generator on the ``etcd-client`` crate, so neither server is measured through its own code.
For every operation and client count the two servers take turns, ``--runs`` times each,
and each row reports the median writes (or reads) per second and the median p99 latency;
the ratio is computed per run before taking its median (steadier on a noisy machine).

stdout gets one JSON object per row::

    {"bench": "etcd", "op": "put", "clients": 1000, "kubemu": {...}, "etcd": {...},
     "ratio_ops": X, "ratio_p99": Y}

and a table goes to stderr at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubemu.bench.real_etcd import RealEtcd, ServerProcess, free_port

REPO = Path(__file__).resolve().parents[3]
LOADGEN = REPO / "target" / "release" / "kubemu-etcd-bench"


def build_loadgen() -> Path:
    """Builds the load generator (release) and returns its path."""
    if not (REPO / "rust" / "kubemu-etcd-bench").is_dir():
        raise RuntimeError("kubemu bench etcd runs from a source checkout (rust/ not found)")
    if shutil.which("protoc") is None and "PROTOC" not in os.environ:
        raise RuntimeError("etcd-client needs protoc to build: apt-get install protobuf-compiler")
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "kubemu-etcd-bench"],
        cwd=REPO,
        check=True,
    )
    return LOADGEN


class KubemuEtcd(ServerProcess):
    """``kubemu etcd`` as its own process on a free port, durable data dir under
    ``data_parent``."""

    log_name = "kubemu.log"
    stop_timeout = 30.0

    def __init__(self, data_parent: str | None, extra_args: tuple[str, ...] = ()) -> None:
        super().__init__(data_parent, "kubemu-etcd-")
        self.address = f"127.0.0.1:{free_port()}"
        self.proc = proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubemu.cli.main",
                "etcd",
                "--data-dir",
                str(self.dir / "data"),
                "--listen-client-urls",
                f"http://{self.address}",
                *extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while "serving on" not in self.log():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kubemu etcd did not start:\n{self.log()}")
            time.sleep(0.05)


def drive(
    loadgen: Path, endpoint: str, op: str, clients: int, seconds: float, keys: int
) -> dict[str, Any]:
    """One load-generator run; its JSON result."""
    out = subprocess.run(
        [
            str(loadgen),
            "--endpoint",
            endpoint,
            "--op",
            op,
            "--clients",
            str(clients),
            "--seconds",
            str(seconds),
            "--keys",
            str(keys),
        ],
        capture_output=True,
        text=True,
        timeout=seconds * 20 + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"kubemu-etcd-bench failed ({op}, {clients}): {out.stderr.strip()}")
    result: dict[str, Any] = json.loads(out.stdout)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} errors ({op}, {clients}): {result['first_error']}")
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of one server and row."""
    keys = ("ops_per_sec", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {
        "runs_ops_per_sec": [r["ops_per_sec"] for r in runs],
        "conns": runs[0]["conns"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kubemu bench etcd", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", default="1,100,1000")
    ap.add_argument("--ops", default="put,txn-put,range")
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--data-parent", default=None, help="where both data dirs go")
    ap.add_argument("--loadgen", type=Path, default=None, help="prebuilt kubemu-etcd-bench")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    loadgen = args.loadgen or build_loadgen()
    clients = [int(c) for c in args.clients.split(",")]
    ops = args.ops.split(",")
    rows = []
    with RealEtcd(data_parent=args.data_parent) as etcd, KubemuEtcd(args.data_parent) as kubemu:
        endpoints = {"kubemu": kubemu.address, "etcd": etcd.address}
        for op in ops:
            for n in clients:
                got: dict[str, list[dict[str, Any]]] = {"kubemu": [], "etcd": []}
                ratios, p99_ratios = [], []
                for run in range(args.runs):
                    # Alternate who goes first so drift on the host hits both alike.
                    order = ["kubemu", "etcd"] if run % 2 == 0 else ["etcd", "kubemu"]
                    for name in order:
                        got[name].append(
                            drive(loadgen, endpoints[name], op, n, args.seconds, args.keys)
                        )
                    k, e = got["kubemu"][-1], got["etcd"][-1]
                    ratios.append(k["ops_per_sec"] / max(e["ops_per_sec"], 1e-9))
                    p99_ratios.append(e["p99_ms"] / max(k["p99_ms"], 1e-9))
                row = {
                    "bench": "etcd",
                    "op": op,
                    "clients": n,
                    "runs": args.runs,
                    "seconds": args.seconds,
                    "kubemu": summarize(got["kubemu"]),
                    "etcd": summarize(got["etcd"]),
                    "ratio_ops": statistics.median(ratios),
                    "ratio_p99": statistics.median(p99_ratios),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(render(rows), file=sys.stderr)
    return 0


def render(rows: list[dict[str, Any]]) -> str:
    """A table: ops/s and p99 of both servers, kubemu/etcd ratios (p99: etcd/kubemu)."""
    head = (
        f"{'op':8} {'clients':>7} {'kubemu ops/s':>13} {'etcd ops/s':>11} {'ratio':>6} "
        f"{'kubemu p99 ms':>14} {'etcd p99 ms':>12} {'p99 r':>6}"
    )
    lines = [head]
    for r in rows:
        k, e = r["kubemu"], r["etcd"]
        lines.append(
            f"{r['op']:8} {r['clients']:>7} {k['ops_per_sec']:>13,.0f} {e['ops_per_sec']:>11,.0f} "
            f"{r['ratio_ops']:>6.2f} {k['p99_ms']:>14.2f} {e['p99_ms']:>12.2f} "
            f"{r['ratio_p99']:>6.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
