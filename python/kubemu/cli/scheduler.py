"""``kubemu scheduler``: the scheduling service against an apiserver, until SIGINT/SIGTERM.

``--server``/``--token`` as every client command; ``--config`` a KubeSchedulerConfiguration
(kubescheduler.config.k8s.io/v1) YAML file (a bad one is rejected at start, naming the field);
``/metrics`` and health endpoints on ``--metrics-address`` (kube-scheduler's port is 10259).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from kubemu.cli.connection import add_connection_args, connect, run_loop, server_address

DEFAULT_METRICS_ADDRESS = "127.0.0.1:10259"


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser("scheduler", help="run the scheduler against an apiserver")
    add_connection_args(p)
    p.add_argument("--config", default=None, help="KubeSchedulerConfiguration YAML file")
    p.add_argument(
        "--metrics-address",
        default=DEFAULT_METRICS_ADDRESS,
        help="HTTP address for /metrics, /healthz, /readyz, /livez; '' for none "
        "(default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the tie-breaks (default: 0)")
    p.add_argument(
        "--batch-size", type=int, default=500, help="pods per scheduling batch (default: 500)"
    )
    p.set_defaults(handler=run)


async def serve(args: argparse.Namespace) -> int:
    from kubemu.apiserver.http_server import HttpServer
    from kubemu.scheduler import Scheduler, SchedulerConfig, load_config

    config = load_config(args.config) if args.config else SchedulerConfig()
    client = connect(args)
    scheduler = None
    http_server = None
    try:
        scheduler = Scheduler(client, config, seed=args.seed, batch_size=args.batch_size)
        if args.metrics_address:
            http_server = HttpServer(scheduler.metrics.registry, args.metrics_address)
            await http_server.start()
        await scheduler.start()
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        where = (
            f"; metrics on http://{http_server.host}:{http_server.port}/metrics"
            if http_server is not None
            else ""
        )
        names = ", ".join(sorted(config.scheduler_names))
        print(
            f"kubemu scheduler ({names}) scheduling for {server_address(args)}{where}",
            flush=True,
        )
        await done.wait()
    finally:
        if scheduler is not None:
            await scheduler.stop()
        if http_server is not None:
            await http_server.stop()
        await client.close()
    return 0


def run(args: argparse.Namespace) -> int:
    from kubemu.objects.errors import StatusError
    from kubemu.scheduler.config import ConfigError

    try:
        return run_loop(serve(args))
    except ConfigError as e:
        print(f"error: invalid configuration: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError, TimeoutError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except StatusError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
