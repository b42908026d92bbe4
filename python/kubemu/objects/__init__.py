"""The Kubernetes object layer: kinds (defaulting, validation, strategies, store keys),
quantities, names, label and field selectors, object metadata and API errors.

Objects are plain dicts shaped as Kubernetes documents (``apiVersion``, ``kind``, ``metadata``,
``spec``, ``status``). Everything here behaves as upstream Kubernetes does, messages included;
the module docstrings name the few deliberate differences.
"""

from kubemu.objects.errors import (
    GRPC_CODE_BY_REASON,
    ErrorType,
    FieldError,
    Reason,
    StatusError,
)
from kubemu.objects.fields import FieldSelector, parse_field_selector
from kubemu.objects.kinds import Kind, bind, compute_qos_class
from kubemu.objects.labels import (
    Requirement,
    Selector,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
    validate_label_selector,
)
from kubemu.objects.meta import (
    new_uid,
    now_rfc3339,
    now_rfc3339_micro,
    parse_resource_version,
)
from kubemu.objects.names import generate_name
from kubemu.objects.quantity import Quantity, parse_quantity
from kubemu.objects.registry import ALL_KINDS, REGISTRY, Registry

__all__ = [
    "ALL_KINDS",
    "GRPC_CODE_BY_REASON",
    "REGISTRY",
    "ErrorType",
    "FieldError",
    "FieldSelector",
    "Kind",
    "Quantity",
    "Reason",
    "Registry",
    "Requirement",
    "Selector",
    "StatusError",
    "bind",
    "compute_qos_class",
    "generate_name",
    "new_uid",
    "now_rfc3339",
    "now_rfc3339_micro",
    "parse_field_selector",
    "parse_quantity",
    "parse_resource_version",
    "parse_selector",
    "selector_from_label_selector",
    "selector_from_set",
    "validate_label_selector",
]
