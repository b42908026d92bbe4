"""Event (core/v1): legacy validation, lax names, selectable fields, TTL."""

from __future__ import annotations

from kubemu.objects.kinds import EVENT

from .factories import Obj, create, create_valid, messages


def event(**fields: object) -> Obj:
    base: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.17a8b2c3d4e5f6a7", "namespace": "d"},
        "involvedObject": {"kind": "Pod", "namespace": "d", "name": "web", "uid": "u1"},
        "reason": "Scheduled",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
    }
    base.update(fields)
    return base


def test_valid_event_and_fields() -> None:
    created = create_valid(EVENT, event())
    assert EVENT.ttl_seconds == 3600
    fields = EVENT.fields(created)
    assert fields["involvedObject.kind"] == "Pod"
    assert fields["involvedObject.name"] == "web"
    assert fields["source"] == "default-scheduler"
    assert fields["reason"] == "Scheduled"
    assert fields["type"] == "Normal"
    assert fields["involvedObject.fieldPath"] == ""


def test_names_need_only_be_path_segments() -> None:
    odd = event()
    odd["metadata"]["name"] = "Web_1.ABC"
    create_valid(EVENT, odd)
    slash = event()
    slash["metadata"]["name"] = "a/b"
    assert messages(EVENT.validate_create(create(EVENT, slash))) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]


def test_namespace_must_match() -> None:
    obj = event(involvedObject={"kind": "Pod", "namespace": "other", "name": "web"})
    assert messages(EVENT.validate_create(create(EVENT, obj))) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]


def test_new_style_event_needs_reporting_fields() -> None:
    obj = event(eventTime="2026-11-26T10:00:00.000000Z")
    errs = messages(EVENT.validate_create(create(EVENT, obj)))
    # As upstream, the empty component is also reported as an invalid qualified name.
    assert errs[0] == "reportingComponent: Required value"
    assert errs[1] == 'reportingComponent: Invalid value: "": name part must be non-empty'
    assert errs[3:] == ["reportingInstance: Required value", "action: Required value"]
    complete = event(
        eventTime="2026-11-26T10:00:00.000000Z",
        reportingComponent="kubemu.io/scheduler",
        reportingInstance="scheduler-1",
        action="Binding",
    )
    assert EVENT.validate_create(create(EVENT, complete)) == []
