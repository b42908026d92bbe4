"""CREATE of :class:`~kubemu.apiserver.handlers.APIServer`: decode, default, admit, prepare,
validate, store (generateName retries)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    AdmissionChain,
    ObjectReader,
    Operation,
)
from kubemu.apiserver.core import ServerCore
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    KeyExists,
)
from kubemu.apiserver.watch import RawObject
from kubemu.objects import StatusError
from kubemu.objects.errors import FieldError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import (
    ensure_namespace,
    get_metadata,
    prepare_for_storage,
    set_resource_version,
)
from kubemu.objects.names import generate_name

GENERATE_NAME_ATTEMPTS: Final = 8
"""Creates with generateName retry on a name collision (upstream's RetryGenerateName)."""


def invalid_error(kind: Kind, obj: Obj, errs: builtins.list[FieldError]) -> StatusError:
    """``Invalid`` for ``obj`` (whose name may itself be malformed)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else ""
    return StatusError.invalid(
        kind.kind, name if isinstance(name, str) else str(name), errs, group=kind.group
    )


if TYPE_CHECKING:
    pass

Obj = dict[str, Any]


class _Template(NamedTuple):
    """What a batch knows of a spec after the first object with it was created."""

    spec: bytes
    """The spec after defaulting and mutating admission (msgpack)."""
    status: bytes | None
    """The initial status (msgpack), for kinds whose create sets it."""


class TemplateMemo:
    """A batch's templates by (namespace, request spec bytes, admission template keys)."""

    __slots__ = ("key_fns", "templates")

    def __init__(self, admission: AdmissionChain) -> None:
        self.templates: dict[tuple[object, ...], _Template] = {}
        self.key_fns = admission.template_key_fns()


class Creating(ServerCore):
    """``create`` and the steps ``create_many`` shares (a part of APIServer, over
    :class:`~kubemu.apiserver.core.ServerCore`)."""

    def _prepare_create(
        self,
        kind: Kind,
        namespace: str,
        obj: Obj | bytes,
        user: UserInfo,
        dry_run: bool,
        reader: ObjectReader | None = None,
    ) -> tuple[Obj, bool]:
        """Decode → default → admit → prepare → validate → admit(validate); returns the
        object and whether its name was generated."""
        new = self._decode_in(obj, kind)
        ensure_namespace(new, namespace, kind.namespaced)
        return new, self._admit_create(kind, namespace, new, user, dry_run, reader)

    def _admit_create(
        self,
        kind: Kind,
        namespace: str,
        new: Obj,
        user: UserInfo,
        dry_run: bool,
        reader: ObjectReader | None,
    ) -> bool:
        """Default → admit → prepare → validate → admit(validate) a decoded object in place;
        whether its name was generated."""
        kind.default_spec(new)  # the status is replaced by prepare_for_create
        meta = get_metadata(new)
        attrs = self._attrs(
            Operation.CREATE,
            kind,
            namespace,
            str(meta.get("name") or ""),
            user,
            dry_run=dry_run,
            reader=reader,
        )
        self.admission.admit(attrs, new, None)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        kind.prepare_for_create(new, now=self._now())
        errs = kind.validate_create(new)
        if errs:
            raise invalid_error(kind, new, errs)
        self.admission.validate(attrs, new, None)
        return generated

    def _templated(self, kind: Kind) -> bool:
        """Creates of ``kind`` may share a batch's spec work (:meth:`_create_templated`)."""
        return kind.template_spec and kind.on_create is None and self.admission.spec_only

    def _create_templated(
        self,
        kind: Kind,
        namespace: str,
        obj: Obj | bytes,
        user: UserInfo,
        reader: ObjectReader,
        memo: TemplateMemo,
    ) -> tuple[Obj, bool, bytes]:
        """:meth:`_prepare_create` for one object of a batch of a template kind, with the spec
        work done once per distinct (namespace, request spec, admission template keys): the
        first object of a template goes the whole way, and its spec after defaulting and
        mutating admission, its initial status and the fact that spec validation and
        admission accepted it are kept in ``memo`` (the batch's; one reader, so admission
        reads the same objects); the others take copies and run what depends on their
        metadata (system fields, metadata validation). Returns the object (without
        resourceVersion), whether its name was generated, and its msgpack for the store."""
        new, spec_data = codec.split_spec(obj, max_bytes=self.max_request_bytes)
        if spec_data is None:  # no spec map: the plain path
            self._check_in(new, kind)
            ensure_namespace(new, namespace, kind.namespaced)
            generated = self._admit_create(kind, namespace, new, user, False, reader)
            prepare_for_storage(new)
            return new, generated, codec.encode(new)
        key = (namespace, spec_data, *[fn(new) for fn in memo.key_fns])
        template = memo.templates.get(key)
        if template is None:
            new["spec"] = codec.decode_spec(spec_data)
            self._check_in(new, kind)
            ensure_namespace(new, namespace, kind.namespaced)
            generated = self._admit_create(kind, namespace, new, user, False, reader)
            prepare_for_storage(new)
            status = new.get("status") if self._status_from_template(kind) else None
            memo.templates[key] = _Template(
                codec.encode(new["spec"]), None if status is None else codec.encode(status)
            )
            return new, generated, codec.encode(new)
        self._check_in(new, kind)
        ensure_namespace(new, namespace, kind.namespaced)
        meta = get_metadata(new)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        status = None
        if template.status is not None:
            status = codec.decode_trusted(template.status)
        kind.prepare_for_create(new, now=self._now(), status=status)
        errs = kind.validate_create_meta(new)
        new["spec"] = codec.decode_trusted(template.spec)
        if errs:
            raise invalid_error(kind, new, errs)
        prepare_for_storage(new)
        return new, generated, codec.encode_with(new, "spec", template.spec)

    @staticmethod
    def _status_from_template(kind: Kind) -> bool:
        return kind.has_status and not kind.keep_status_on_create

    async def create(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        dry_run: bool = False,
    ) -> Obj:
        new, data, rev = self._create(resource, namespace, obj, user, dry_run)
        if new is None:  # stamped: only the stored bytes
            assert data is not None
            new = codec.decode_trusted(data)
        if rev:
            set_resource_version(new, rev)
        return new

    async def create_raw(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        dry_run: bool = False,
    ) -> RawObject:
        """:meth:`create` as the stored bytes and resourceVersion (``decode()`` gives what
        ``create`` returns; a dry run's resourceVersion is 0), for transports that send the
        bytes on: the object is encoded once, for the store."""
        new, data, rev = self._create(resource, namespace, obj, user, dry_run)
        if data is None:
            assert new is not None  # a dry run
            data = codec.encode(new)
        return RawObject(data, rev)

    def _create(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        user: UserInfo,
        dry_run: bool,
    ) -> tuple[Obj | None, bytes | None, int]:
        """``(object without resourceVersion, stored bytes, resourceVersion)`` as
        :meth:`_store_create_written`; a create stamped by :mod:`~kubemu.apiserver.create_memo`
        has only its bytes (``None`` object)."""
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("create", kind, user, namespace, ""):
            if not dry_run and self._templated(kind):  # spec work shared across requests
                return self._create_memos.create(self, kind, namespace, obj, user)
            new, generated = self._prepare_create(kind, namespace, obj, user, dry_run)
            return self._store_create_written(kind, new, generated, dry_run)

    def _request_bytes(self, obj: Obj | bytes) -> bytes | None:
        """A request object's msgpack as :class:`~kubemu._core.Stamper` reads it, or None when
        only the slow path can judge it (not packable, over the size limit)."""
        if type(obj) is bytes:
            data = obj
        elif type(obj) is dict:
            try:
                data = codec.encode(obj)
            except StatusError:
                return None
        else:
            return None
        return data if len(data) <= self.max_request_bytes else None

    def _store_create(self, kind: Kind, new: Obj, generated: bool, dry_run: bool) -> Obj:
        new, _, rev = self._store_create_written(kind, new, generated, dry_run)
        if rev:
            set_resource_version(new, rev)
        return new

    def _store_create_written(
        self, kind: Kind, new: Obj, generated: bool, dry_run: bool
    ) -> tuple[Obj, bytes | None, int]:
        """Store a prepared object: ``(object without resourceVersion, the stored bytes,
        resourceVersion)``; a dry run stores nothing: ``(object, None, 0)``."""
        meta = get_metadata(new)
        prepare_for_storage(new)
        for attempt in range(GENERATE_NAME_ATTEMPTS if generated else 1):
            if attempt:
                meta["name"] = generate_name(str(meta["generateName"]))
            key = kind.key_of(new)
            if dry_run:
                if self.storage.get(key) is not None:
                    break
                return new, None, 0
            data = codec.encode(new)
            try:
                rev = self.storage.create(key, data)
            except KeyExists:
                continue
            return new, data, rev
        name = str(meta.get("name", ""))
        if generated:
            raise StatusError.generate_name_conflict(kind.plural, name, kind.group)
        raise StatusError.already_exists(kind.plural, name, kind.group)
