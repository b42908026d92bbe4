"""Patch documents: JSON merge patch (RFC 7386), JSON patch (RFC 6902, via ``jsonpatch``);
strategic merge patch is treated as a merge patch for now."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jsonpatch

from kubemu.objects.errors import Reason, StatusError

__all__ = ["apply_patch", "merge_patch", "parse_patch"]

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_patch(patch: bytes | str | dict[str, Any] | Sequence[Any]) -> Any:
    if isinstance(patch, bytes | bytearray | str):
        try:
            return json.loads(patch)
        except (ValueError, UnicodeDecodeError) as e:
            raise StatusError.bad_request(f"error decoding patch: {e}") from None
    if isinstance(patch, dict):
        return patch
    return list(patch)


def apply_patch(doc: dict[str, Any], patch_type: str, patch: Any) -> dict[str, Any]:
    """The patched document; ``BadRequest``/``UnsupportedMediaType``/422 on bad patches."""
    if patch_type in (MERGE, STRATEGIC):
        if not isinstance(patch, dict):
            raise StatusError.bad_request("merge patch must be a JSON object")
        out = merge_patch(doc, patch)
        assert isinstance(out, dict)
        return out
    if patch_type == JSON:
        if not isinstance(patch, list):
            raise StatusError.bad_request("json patch must be a JSON array of operations")
        try:
            out = jsonpatch.JsonPatch(patch).apply(doc)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
            raise StatusError(
                Reason.INVALID, 422, f"the server rejected our request: {e}"
            ) from None
        except (TypeError, KeyError, ValueError, AttributeError, IndexError) as e:
            raise StatusError.bad_request(f"invalid json patch: {e}") from None
        if not isinstance(out, dict):
            raise StatusError.bad_request("json patch must leave an object")
        return out
    raise StatusError(
        Reason.UNSUPPORTED_MEDIA_TYPE,
        415,
        f"the body of the request was in an unknown format - "
        f"accepted media types include: {JSON}, {MERGE}, {STRATEGIC}",
    )
