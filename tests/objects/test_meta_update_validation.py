"""``validate_object_meta_update`` builds field paths only for what it reports: its errors are
exactly those of the plain formulation (below, as the function was written before), for any
metadata, well-formed or not."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu.objects.errors import FieldError, invalid
from kubemu.objects.labels import validate_labels
from kubemu.objects.meta import (
    immutable,
    validate_annotations,
    validate_object_meta_update,
    validate_owner_references,
)


def plain_meta_update(new: Any, old: Any, path: str = "metadata") -> list[FieldError]:
    """The identity, generation, labels, annotations and owner checks, field by field."""
    errs: list[FieldError] = []
    new_gen, old_gen = new.get("generation") or 0, old.get("generation") or 0
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        errs.append(invalid(f"{path}.generation", new_gen, "must not be decremented"))
    for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"):
        errs.extend(immutable(new.get(key, ""), old.get(key, ""), f"{path}.{key}"))
    errs.extend(
        immutable(
            new.get("deletionGracePeriodSeconds"),
            old.get("deletionGracePeriodSeconds"),
            f"{path}.deletionGracePeriodSeconds",
        )
    )
    errs.extend(validate_labels(new.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(new.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(new.get("ownerReferences"), f"{path}.ownerReferences"))
    return errs


values = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "web", "Bad_Name", "x/y", "-", "1"]),
    st.integers(-2, 3),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.sampled_from(["a", "b"]), max_size=2),
)
string_maps = st.one_of(
    st.none(),
    st.just([]),
    st.dictionaries(
        st.sampled_from(["app", "tier", "bad key", "example.com/n", "-x", "a" * 70]),
        st.one_of(st.sampled_from(["", "web", "-bad-", "a" * 70]), st.integers(0, 1)),
        max_size=3,
    ),
)
refs = st.one_of(
    st.none(),
    st.just({}),
    st.lists(
        st.one_of(
            st.just("not-a-ref"),
            st.fixed_dictionaries(
                {},
                optional={
                    "apiVersion": st.sampled_from(["", "v1", "apps/v1", "a/b/c"]),
                    "kind": st.sampled_from(["", "ReplicaSet", "Event"]),
                    "name": st.sampled_from(["", "rs"]),
                    "uid": st.sampled_from(["", "u"]),
                    "controller": st.booleans(),
                },
            ),
        ),
        max_size=3,
    ),
)
metas = st.fixed_dictionaries(
    {},
    optional={
        "name": values,
        "namespace": values,
        "uid": values,
        "creationTimestamp": values,
        "deletionTimestamp": values,
        "deletionGracePeriodSeconds": values,
        "generation": values,
        "resourceVersion": st.sampled_from(["", "5"]),
        "labels": string_maps,
        "annotations": string_maps,
        "ownerReferences": refs,
    },
)


@given(metas, metas, st.sampled_from(["metadata", "spec.template.metadata"]))
@settings(max_examples=400, deadline=None)
def test_meta_update_errors_match_the_plain_checks(new: Any, old: Any, path: str) -> None:
    got = [str(e) for e in validate_object_meta_update(new, old, path)]
    want = [str(e) for e in plain_meta_update(new, old, path)]
    # validate_object_meta_update adds the resourceVersion, deletion and finalizer rules
    # (unchanged) around these: they are the same errors once those are set apart.
    extra = {"resourceVersion", "finalizers"}
    assert [e for e in got if not any(f"{path}.{k}" in e for k in extra)] == want
