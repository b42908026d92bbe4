"""``kubemu store``: inspect and back up a store's data dir."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kubemu.store import Store, StoreError, restore


def _status(args: argparse.Namespace) -> int:
    with Store(args.data_dir) as s:
        st = s.status()
        print(
            json.dumps(
                {
                    "revision": st.revision,
                    "compact_revision": st.compact_revision,
                    "db_size": st.db_size,
                    "db_size_in_use": st.db_size_in_use,
                    "quota_bytes": st.quota_bytes,
                    "keys": st.keys,
                    "alarms": st.alarms,
                    "recovery_warnings": st.recovery_warnings,
                },
                indent=2,
            )
        )
    return 0


def _save(args: argparse.Namespace) -> int:
    with Store(args.data_dir) as s:
        rev = s.snapshot_save(args.file)
    print(f"Snapshot saved at {args.file} (revision {rev})")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    """Restore ``args.file`` into the new data dir ``args.data_dir``."""
    rev = restore(args.file, args.data_dir)
    print(f"Restored revision {rev} into {args.data_dir}")
    return 0


def guarded(handler: Any) -> Any:
    """The handler, with store and OS errors printed as ``Error: ...`` and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = handler(args)
            return code
        except (StoreError, OSError) as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1

    return run


def register(groups: Any) -> None:
    store = groups.add_parser("store", help="inspect and back up a store data dir")
    cmds = store.add_subparsers(dest="store_cmd", metavar="SUBCOMMAND")
    cmds.required = True
    status = cmds.add_parser("status", help="revision, sizes, keys and alarms of a data dir")
    status.add_argument("--data-dir", required=True)
    status.set_defaults(handler=guarded(_status))
    snap = cmds.add_parser("snapshot", help="save or restore a backup file")
    snap_cmds = snap.add_subparsers(dest="snap_cmd", metavar="ACTION")
    snap_cmds.required = True
    save = snap_cmds.add_parser("save", help="write a backup (sha256-sealed) of a data dir")
    save.add_argument("file")
    save.add_argument("--data-dir", required=True)
    save.set_defaults(handler=guarded(_save))
    rest = snap_cmds.add_parser("restore", help="create a new data dir from a backup")
    rest.add_argument("file")
    rest.add_argument("--data-dir", required=True)
    rest.set_defaults(handler=guarded(restore_command))
