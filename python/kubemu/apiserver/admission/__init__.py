"""Admission: plugins that mutate and validate requests after defaulting, before storage.

Each plugin is one module; :func:`default_chain` builds kube-apiserver's order for the plugins
kubemu has (NamespaceLifecycle, ServiceAccount, DefaultTolerationSeconds, Priority). Plugins are
synchronous: they read objects through :class:`ObjectReader` (the apiserver's storage, decoded),
which is a few microseconds in process.
"""

from kubemu.apiserver.admission.chain import (
    AdmissionChain,
    AdmissionPlugin,
    Attributes,
    ObjectReader,
    Operation,
    default_chain,
)

__all__ = [
    "AdmissionChain",
    "AdmissionPlugin",
    "Attributes",
    "ObjectReader",
    "Operation",
    "default_chain",
]
