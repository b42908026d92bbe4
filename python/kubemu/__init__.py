"""kubemu: a Kubernetes cluster emulator with a Rust core.

The store (the etcd role) is :mod:`kubemu.store`.
"""

from kubemu._core import __version__

__all__ = ["__version__"]
