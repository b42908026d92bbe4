"""API errors shaped as Kubernetes reports them.

Two layers, as in ``k8s.io/apimachinery``:

* :class:`FieldError` is one validation failure (``util/validation/field.Error``): a type, the
  field path, the bad value and a detail. ``str()`` gives upstream's exact text, e.g.
  ``metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain ...``.
* :class:`StatusError` is what a request fails with (``api/errors.StatusError``): a reason, an
  HTTP code, a message and details; :meth:`StatusError.to_status` gives the ``meta/v1`` ``Status``
  object kube-apiserver returns. The constructors use upstream's messages.

:data:`GRPC_CODE_BY_REASON` maps a reason to the gRPC status code name the gRPC transport uses
(DESIGN.md §7). ``RequestEntityTooLarge`` maps to ``RESOURCE_EXHAUSTED``, as gRPC itself reports
a message over the size limit, so a client sees one code whichever layer refused the size; the
``Status`` carried with the error still tells it apart from ``TooManyRequests``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubemu.objects.gofmt import go_quote, go_value, struct

__all__ = [
    "GRPC_CODE_BY_REASON",
    "OPTIMISTIC_LOCK_MESSAGE",
    "ErrorType",
    "FieldError",
    "Reason",
    "StatusError",
    "aggregate_message",
    "duplicate",
    "forbidden",
    "go_value",
    "internal_error",
    "invalid",
    "not_found",
    "not_supported",
    "required",
    "struct",
    "too_long",
    "too_many",
]


class ErrorType(StrEnum):
    """``field.ErrorType``: the value is the ``StatusCause`` reason, :attr:`label` the text."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ErrorType.NOT_FOUND: "Not found",
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value",
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
    ErrorType.TOO_MANY: "Too many",
    ErrorType.INTERNAL: "Internal error",
    ErrorType.TYPE_INVALID: "Invalid value",
}

# Types whose text never shows the value (upstream prints only the type and the detail).
_VALUE_HIDDEN = frozenset(
    {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}
)


class _Omitted:
    """The value of an error that does not show one (upstream's ``omitValue``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<omitted>"


OMITTED: Any = _Omitted()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure: ``field: <type label>[: <value>][: <detail>]``."""

    type: ErrorType
    field: str
    bad_value: Any = OMITTED
    detail: str = ""

    def body(self) -> str:
        """Upstream's ``ErrorBody()``: the text without the field path (a ``StatusCause``)."""
        if self.type in _VALUE_HIDDEN or self.bad_value is OMITTED:
            s = self.type.label
        else:
            s = f"{self.type.label}: {go_value(self.bad_value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        """The ``StatusCause`` of this error, as in an ``Invalid`` status's details."""
        return {"reason": self.type.value, "message": self.body(), "field": self.field}


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, field, OMITTED, detail)


def invalid(field: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(ErrorType.INVALID, field, value, detail)


def not_supported(field: str, value: Any, supported: Sequence[str] = ()) -> FieldError:
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(str(v)) for v in supported)
    return FieldError(ErrorType.NOT_SUPPORTED, field, value, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, field, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, field, OMITTED, detail)


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.NOT_FOUND, field, value)


def too_long(field: str, max_length: int) -> FieldError:
    if max_length >= 0:
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, field, OMITTED, detail)


def too_many(field: str, actual: int, maximum: int) -> FieldError:
    if maximum >= 0:
        unit = "item" if maximum == 1 else "items"
        detail = f"must have at most {maximum} {unit}"
    else:
        detail = "has too many items"
    return FieldError(ErrorType.TOO_MANY, field, actual if actual >= 0 else OMITTED, detail)


def internal_error(field: str, detail: str) -> FieldError:
    return FieldError(ErrorType.INTERNAL, field, OMITTED, detail)


def aggregate_message(errors: Iterable[object]) -> str:
    """Upstream's aggregate text: one error bare, several as ``[a, b]``, duplicates dropped."""
    seen: list[str] = []
    for err in errors:
        msg = str(err)
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


class Reason(StrEnum):
    """``metav1.StatusReason`` values the apiserver reports."""

    UNKNOWN = ""
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    INVALID = "Invalid"
    SERVER_TIMEOUT = "ServerTimeout"
    TIMEOUT = "Timeout"
    TOO_MANY_REQUESTS = "TooManyRequests"
    BAD_REQUEST = "BadRequest"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INTERNAL_ERROR = "InternalError"
    EXPIRED = "Expired"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


GRPC_CODE_BY_REASON: dict[str, str] = {
    Reason.UNKNOWN: "UNKNOWN",
    Reason.UNAUTHORIZED: "UNAUTHENTICATED",
    Reason.FORBIDDEN: "PERMISSION_DENIED",
    Reason.NOT_FOUND: "NOT_FOUND",
    Reason.ALREADY_EXISTS: "ALREADY_EXISTS",
    Reason.CONFLICT: "ABORTED",
    Reason.GONE: "OUT_OF_RANGE",
    Reason.EXPIRED: "OUT_OF_RANGE",
    Reason.INVALID: "INVALID_ARGUMENT",
    Reason.BAD_REQUEST: "INVALID_ARGUMENT",
    Reason.SERVER_TIMEOUT: "UNAVAILABLE",
    Reason.TIMEOUT: "DEADLINE_EXCEEDED",
    Reason.TOO_MANY_REQUESTS: "RESOURCE_EXHAUSTED",
    Reason.REQUEST_ENTITY_TOO_LARGE: "RESOURCE_EXHAUSTED",
    Reason.METHOD_NOT_ALLOWED: "UNIMPLEMENTED",
    Reason.NOT_ACCEPTABLE: "INVALID_ARGUMENT",
    Reason.UNSUPPORTED_MEDIA_TYPE: "INVALID_ARGUMENT",
    Reason.INTERNAL_ERROR: "INTERNAL",
    Reason.SERVICE_UNAVAILABLE: "UNAVAILABLE",
}
"""Reason → gRPC status code name (``grpc.StatusCode`` member name)."""

OPTIMISTIC_LOCK_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(
    *, name: str = "", group: str = "", kind: str = "", **extra: Any
) -> dict[str, Any] | None:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({k: v for k, v in extra.items() if v})
    return details or None


class StatusError(Exception):
    """A failed API request, carrying the ``Status`` the apiserver returns."""

    def __init__(
        self,
        reason: Reason | str,
        code: int,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = Reason(reason)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"StatusError({self.reason.value!r}, {self.code}, {self.message!r})"

    @property
    def grpc_code(self) -> str:
        """The gRPC status code name this error travels as."""
        return GRPC_CODE_BY_REASON[self.reason]

    def to_status(self) -> dict[str, Any]:
        """The ``meta/v1`` ``Status`` object, key for key as kube-apiserver encodes it."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.value,
        }
        if not self.reason.value:
            del status["reason"]
        if self.details:
            status["details"] = self.details
        status["code"] = self.code
        return status

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> StatusError:
        """Rebuild the error from a ``Status`` object (the client side of :meth:`to_status`)."""
        reason = status.get("reason", "")
        try:
            reason = Reason(reason)
        except ValueError:
            reason = Reason.UNKNOWN
        details = status.get("details")
        return cls(
            reason,
            int(status.get("code", 500)),
            str(status.get("message", "")),
            dict(details) if details else None,
        )

    # Constructors with upstream's messages (k8s.io/apimachinery/pkg/api/errors).

    @classmethod
    def not_found(cls, resource: str, name: str, group: str = "") -> StatusError:
        return cls(
            Reason.NOT_FOUND,
            404,
            f"{_qualified(resource, group)} {go_quote(name)} not found",
            _details(name=name, group=group, kind=resource),
        )

    @classmethod
    def already_exists(cls, resource: str, name: str, group: str = "") -> StatusError:
        return cls(
            Reason.ALREADY_EXISTS,
            409,
            f"{_qualified(resource, group)} {go_quote(name)} already exists",
            _details(name=name, group=group, kind=resource),
        )

    @classmethod
    def generate_name_conflict(cls, resource: str, name: str, group: str = "") -> StatusError:
        return cls(
            Reason.ALREADY_EXISTS,
            409,
            f"{_qualified(resource, group)} {go_quote(name)} already exists, the server was not "
            "able to generate a unique name for the object",
            _details(name=name, group=group, kind=resource, retryAfterSeconds=1),
        )

    @classmethod
    def conflict(
        cls, resource: str, name: str, detail: str = OPTIMISTIC_LOCK_MESSAGE, group: str = ""
    ) -> StatusError:
        return cls(
            Reason.CONFLICT,
            409,
            f"Operation cannot be fulfilled on {_qualified(resource, group)} "
            f"{go_quote(name)}: {detail}",
            _details(name=name, group=group, kind=resource),
        )

    @classmethod
    def invalid(
        cls, kind: str, name: str, errors: Sequence[FieldError], group: str = ""
    ) -> StatusError:
        qualified = f"{kind}.{group}" if group else kind
        message = f"{qualified} {go_quote(name)} is invalid"
        if errors:
            message += ": " + aggregate_message(errors)
        causes = [e.cause() for e in errors]
        return cls(
            Reason.INVALID,
            422,
            message,
            _details(name=name, group=group, kind=kind, causes=causes),
        )

    @classmethod
    def bad_request(cls, message: str) -> StatusError:
        return cls(Reason.BAD_REQUEST, 400, message)

    @classmethod
    def gone(cls, message: str) -> StatusError:
        return cls(Reason.GONE, 410, message)

    @classmethod
    def expired(cls, message: str) -> StatusError:
        """``NewResourceExpired``: a watch or list from a compacted resourceVersion."""
        return cls(Reason.EXPIRED, 410, message)

    @classmethod
    def too_old_resource_version(cls, requested: int, oldest: int) -> StatusError:
        """What a watch from before the compacted revision gets."""
        return cls.expired(f"too old resource version: {requested} ({oldest})")

    @classmethod
    def forbidden(cls, resource: str, name: str, detail: str, group: str = "") -> StatusError:
        if not resource:
            message = f"forbidden: {detail}"
        elif not name:
            message = f"{_qualified(resource, group)} is forbidden: {detail}"
        else:
            message = f"{_qualified(resource, group)} {go_quote(name)} is forbidden: {detail}"
        return cls(Reason.FORBIDDEN, 403, message, _details(name=name, group=group, kind=resource))

    @classmethod
    def unauthorized(cls, message: str = "") -> StatusError:
        return cls(Reason.UNAUTHORIZED, 401, message or "not authorized")

    @classmethod
    def method_not_supported(cls, resource: str, action: str, group: str = "") -> StatusError:
        return cls(
            Reason.METHOD_NOT_ALLOWED,
            405,
            f"{action} is not supported on resources of kind "
            f"{go_quote(_qualified(resource, group))}",
            _details(group=group, kind=resource),
        )

    @classmethod
    def request_entity_too_large(cls, message: str) -> StatusError:
        return cls(Reason.REQUEST_ENTITY_TOO_LARGE, 413, f"Request entity too large: {message}")

    @classmethod
    def too_many_requests(cls, message: str, retry_after_seconds: int = 0) -> StatusError:
        return cls(
            Reason.TOO_MANY_REQUESTS,
            429,
            message,
            _details(retryAfterSeconds=retry_after_seconds),
        )

    @classmethod
    def internal_error(cls, err: object) -> StatusError:
        return cls(
            Reason.INTERNAL_ERROR,
            500,
            f"Internal error occurred: {err}",
            {"causes": [{"message": str(err)}]},
        )

    @classmethod
    def timeout(cls, message: str, retry_after_seconds: int = 0) -> StatusError:
        return cls(
            Reason.TIMEOUT,
            504,
            f"Timeout: {message}",
            _details(retryAfterSeconds=retry_after_seconds),
        )

    @classmethod
    def server_timeout(
        cls, resource: str, operation: str, retry_after_seconds: int, group: str = ""
    ) -> StatusError:
        return cls(
            Reason.SERVER_TIMEOUT,
            500,
            f"The {operation} operation against {_qualified(resource, group)} could not be "
            "completed at this time, please try again.",
            _details(
                name=operation, group=group, kind=resource, retryAfterSeconds=retry_after_seconds
            ),
        )

    @classmethod
    def service_unavailable(cls, message: str) -> StatusError:
        return cls(Reason.SERVICE_UNAVAILABLE, 503, message)
