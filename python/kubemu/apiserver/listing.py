"""LIST and WATCH of :class:`~kubemu.apiserver.handlers.APIServer` (its methods delegate here).

Lists page through the store at one revision: the continue token is upstream's (base64 of
``{"v": "meta.k8s.io/v1", "rv": <revision>, "start": <key after the prefix>}``) and a token whose
revision is compacted is 410 Gone. Items are the stored bytes (:class:`RawObject`), decoded only
when a selector needs to look at them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver.codec import decode_trusted
from kubemu.apiserver.storage import StorageCompacted, StorageFutureRevision, StoredObject
from kubemu.apiserver.watch import ADDED, RawObject, ServerWatch, WatchFilter, WatchItem
from kubemu.client.interface import ListOptions
from kubemu.gcpause import PROMOTE_AT, gc_paused, promote
from kubemu.objects.errors import StatusError
from kubemu.objects.fields import FieldSelector, parse_field_selector, unsupported_fields
from kubemu.objects.kinds.base import Kind
from kubemu.objects.labels import Selector, parse_selector
from kubemu.objects.meta import parse_resource_version

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer
    from kubemu.apiserver.request import UserInfo

__all__ = [
    "RawList",
    "StoredPage",
    "decode_continue",
    "encode_continue",
    "list_objects",
    "list_stored",
    "parse_selectors",
    "watch_objects",
]

Obj = dict[str, Any]

CONTINUE_TOO_OLD: Final = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


@dataclass
class RawList:
    """A list response whose items are stored bytes."""

    kind: str
    api_version: str
    resource_version: str
    items: list[RawObject]
    continue_: str = ""
    remaining_item_count: int | None = None


def encode_continue(revision: int, start: str) -> str:
    doc = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode()


def decode_continue(token: str) -> tuple[int, str]:
    """(revision, start key relative to the list prefix); BadRequest if malformed."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        if doc.get("v") != "meta.k8s.io/v1":
            raise ValueError("wrong version")
        rv, start = doc["rv"], doc["start"]
        if not isinstance(rv, int) or rv <= 0 or not isinstance(start, str) or not start:
            raise ValueError("bad fields")
        if ".." in start.split("/") or start.startswith("/"):
            raise ValueError("bad start")
        return rv, start
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise StatusError.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version "
            "meta.k8s.io/v1)"
        ) from None


def parse_selectors(kind: Kind, options: ListOptions) -> tuple[Selector, FieldSelector]:
    try:
        labels = parse_selector(options.label_selector)
    except ValueError as e:
        raise StatusError.bad_request(f"unable to parse requirement: {e}") from None
    try:
        fields = parse_field_selector(options.field_selector)
    except ValueError as e:
        raise StatusError.bad_request(str(e)) from None
    bad = unsupported_fields(fields, kind.field_names)
    if bad:
        raise StatusError.bad_request(bad[0])
    return labels, fields


@dataclass
class StoredPage:
    """:class:`RawList` with the storage's items as they came (:class:`StoredObject`:
    ``value`` bytes, ``revision``), for transports that pack them on without a
    :class:`RawObject` per item."""

    kind: str
    api_version: str
    resource_version: str
    items: list[StoredObject]
    continue_: str = ""
    remaining_item_count: int | None = None


async def list_objects(
    api: APIServer,
    resource: str,
    namespace: str = "",
    options: ListOptions | None = None,
    *,
    user: UserInfo,
) -> RawList:
    # A LIST of 100k objects makes ~300k small objects (store results, StoredObject,
    # RawObject) that hold no cycles: with the cyclic GC on, their allocation sets off
    # collections that walk everything older (after other work, a large heap: 4x the list).
    with gc_paused():
        page = list_stored(api, resource, namespace, options, user=user)
        items = [RawObject(s.value, s.revision) for s in page.items]
        if len(items) >= PROMOTE_AT:
            promote()
    return RawList(
        page.kind,
        page.api_version,
        page.resource_version,
        items,
        page.continue_,
        page.remaining_item_count,
    )


def list_stored(
    api: APIServer,
    resource: str,
    namespace: str = "",
    options: ListOptions | None = None,
    *,
    user: UserInfo,
) -> StoredPage:
    """:func:`list_objects` with the items as :class:`StoredObject` (same semantics)."""
    kind = api.kind(resource)
    opts = options or ListOptions()
    ns = namespace if kind.namespaced else ""
    with api._request("list", kind, user, ns, ""):
        labels, fields = parse_selectors(kind, opts)
        flt = WatchFilter(ns, labels, fields, opts.node_names)
        prefix = kind.prefix(ns or None)
        revision, start = 0, None
        if opts.continue_:
            if opts.resource_version not in ("", "0"):
                raise StatusError.bad_request(
                    "specifying resource version is not allowed when using continue"
                )
            revision, rel = decode_continue(opts.continue_)
            start = prefix + rel.encode()
        elif opts.resource_version not in ("", "0"):
            try:
                requested = parse_resource_version(opts.resource_version)
            except ValueError as e:
                raise StatusError.bad_request(str(e)) from None
            current = api.storage.revision
            if requested > current:
                raise StatusError.timeout(
                    f"Too large resource version: {requested}, current: {current}", 1
                )
            if opts.resource_version_match == "Exact" or opts.limit:
                revision = requested
        elif opts.resource_version_match:
            raise StatusError.bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        limit = max(opts.limit, 0)
        try:
            items, more, count, rev, last = _page(api, kind, prefix, start, limit, revision, flt)
        except StorageCompacted as e:
            if opts.continue_:
                raise StatusError.gone(CONTINUE_TOO_OLD) from None
            raise StatusError.too_old_resource_version(
                e.requested, api.storage.compact_revision
            ) from None
        except StorageFutureRevision:
            raise StatusError.timeout("Too large resource version", 1) from None
        out = StoredPage(kind.list_kind, kind.api_version, str(rev), items)
        if more and last is not None:
            out.continue_ = encode_continue(rev, last[len(prefix) :].decode() + "\x00")
            if flt.trivial:
                out.remaining_item_count = count
        return out


def _page(
    api: APIServer,
    kind: Kind,
    prefix: bytes,
    start: bytes | None,
    limit: int,
    revision: int,
    flt: WatchFilter,
) -> tuple[list[StoredObject], bool, int, int, bytes | None]:
    """Items, more, remaining count, revision and the last key read."""
    if flt.trivial:
        page = api.storage.list(prefix, start=start, limit=limit, revision=revision)
        items = page.items
        last = items[-1].key if items else None
        return items, page.more, page.count - len(items), revision or page.revision, last
    out: list[StoredObject] = []
    chunk = max(limit, 500) if limit else 0
    rev = revision
    while True:
        page = api.storage.list(prefix, start=start, limit=chunk, revision=rev)
        rev = rev or page.revision
        for i, s in enumerate(page.items):
            if _matches(kind, flt, s):
                out.append(s)
                if limit and len(out) == limit:
                    more = page.more or i + 1 < len(page.items)
                    return out, more, 0, rev, s.key
        if not page.more or not page.items:
            return out, False, 0, rev, None
        start = page.items[-1].key + b"\x00"


def _matches(kind: Kind, flt: WatchFilter, s: StoredObject) -> bool:
    obj = decode_trusted(s.value)
    meta = obj.get("metadata") or {}
    return flt.matches(meta.get("namespace") or "", meta.get("labels") or {}, kind.fields(obj))


async def watch_objects(
    api: APIServer,
    resource: str,
    namespace: str = "",
    options: ListOptions | None = None,
    *,
    user: UserInfo,
) -> ServerWatch:
    kind = api.kind(resource)
    opts = options or ListOptions()
    ns = namespace if kind.namespaced else ""
    with api._request("watch", kind, user, ns, ""):
        labels, fields = parse_selectors(kind, opts)
        flt = WatchFilter(ns, labels, fields, opts.node_names)
        initial: list[WatchItem] = []
        failure: StatusError | None = None
        if opts.resource_version in ("", "0"):
            page = api.storage.list(kind.prefix(ns or None))
            after = page.revision
            for s in page.items:
                if flt.trivial or _matches(kind, flt, s):
                    initial.append((ADDED, s.revision, s.value))
        else:
            try:
                after = parse_resource_version(opts.resource_version)
            except ValueError as e:
                raise StatusError.bad_request(str(e)) from None
            compacted = api.storage.compact_revision
            if after < compacted:
                failure = StatusError.too_old_resource_version(after, compacted)
        timeout = None if opts.timeout_seconds is None else float(opts.timeout_seconds)
        stream = ServerWatch(
            api.watchers,
            kind,
            flt,
            after_revision=after,
            bookmarks=opts.allow_watch_bookmarks,
            timeout=timeout,
            initial=initial,
        )
        if failure is None:
            try:
                api.watchers.subscribe(stream)
            except StorageCompacted as e:
                failure = StatusError.too_old_resource_version(after, e.compact_revision)
        if failure is not None:
            stream.fail(failure)
        return stream
