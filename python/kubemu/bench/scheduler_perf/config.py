"""scheduler_perf's workload file format (kubernetes/kubernetes test/integration/scheduler_perf).

A file is a YAML list of test cases::

    - name: SchedulingBasic
      defaultPodTemplatePath: templates/pod-default.yaml
      workloadTemplate:
      - opcode: createNodes
        countParam: $initNodes
      - opcode: createPods
        countParam: $measurePods
        collectMetrics: true
      workloads:
      - name: 5000Nodes
        threshold: 270
        params: {initNodes: 5000, measurePods: 1000}

:func:`load_config` reads one; :meth:`TestCase.ops` gives a workload's ops with its ``params``
substituted: a field ``<x>Param: $name`` becomes ``<x>`` with the value of ``name`` (as upstream's
``countParam``/``durationParam``), and any other string field that is exactly ``$name`` is replaced
too. Template paths are resolved relative to the file. Bad input raises :class:`ConfigError`
naming the test case, workload, op and field.

Ops read: ``createNodes`` (count, nodeTemplatePath, labelNodePrepareStrategy,
uniqueNodeLabelStrategy), ``createNamespaces`` (prefix, count), ``createPods`` (count,
podTemplatePath, collectMetrics, namespace, skipWaitToCompletion), ``churn`` (mode
``create``/``recreate``, number, intervalMilliseconds, templatePaths, namespace), ``barrier``
(namespaces), ``deletePods`` (namespace, labelSelector, deletePodsPerSecond,
skipWaitToCompletion), ``sleep`` (duration); a test case's ``schedulerConfigPath`` (a
KubeSchedulerConfiguration for its scheduler). Accepted and ignored: ``featureGates`` (noted in
the report), ``labels``, ``metricsCollectorConfig``, createPods' volume template paths and
``steadyState``, barrier's ``stageRequirement``/``labelSelector``; unknown ops and fields are
errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

__all__ = [
    "Barrier",
    "Churn",
    "ConfigError",
    "CreateNamespaces",
    "CreateNodes",
    "CreatePods",
    "DeletePods",
    "Op",
    "Sleep",
    "TestCase",
    "Workload",
    "load_config",
    "parse_config",
    "parse_duration",
]

Obj = dict[str, Any]


class ConfigError(ValueError):
    """A workload file that cannot be run; the message names where."""


# ----------------------------------------------------------------------------------- ops


@dataclass(frozen=True)
class CreateNodes:
    count: int
    template: Path | None = None
    """None: the default node template."""
    label_key: str = ""
    label_values: tuple[str, ...] = ()
    """labelNodePrepareStrategy: each node gets ``label_key`` set to one of these (at random,
    seeded, as upstream's ``LabelNodePrepareStrategy``)."""
    unique_label_key: str = ""
    """uniqueNodeLabelStrategy: each node gets ``unique_label_key`` set to its own value."""
    opcode: Literal["createNodes"] = "createNodes"


@dataclass(frozen=True)
class CreateNamespaces:
    prefix: str
    count: int
    opcode: Literal["createNamespaces"] = "createNamespaces"


@dataclass(frozen=True)
class CreatePods:
    count: int
    template: Path | None = None
    """None: the test case's ``defaultPodTemplatePath`` (else the default pod template)."""
    collect_metrics: bool = False
    namespace: str = ""
    """Empty: ``namespace-<op index>`` (created), as upstream."""
    skip_wait: bool = False
    opcode: Literal["createPods"] = "createPods"


@dataclass(frozen=True)
class Churn:
    mode: Literal["create", "recreate"]
    templates: tuple[Path, ...]
    interval: float
    """Seconds between rounds (one object per template per round)."""
    number: int = 0
    """create: rounds before stopping (0: until the workload ends); recreate: objects kept
    per template (each round deletes the oldest and creates a new one)."""
    namespace: str = ""
    opcode: Literal["churn"] = "churn"


@dataclass(frozen=True)
class Barrier:
    namespaces: tuple[str, ...] = ()
    """Empty: every namespace the workload created pods in."""
    opcode: Literal["barrier"] = "barrier"


@dataclass(frozen=True)
class DeletePods:
    namespace: str
    label_selector: str = ""
    per_second: float = 0.0
    """0: all at once."""
    skip_wait: bool = False
    opcode: Literal["deletePods"] = "deletePods"


@dataclass(frozen=True)
class Sleep:
    seconds: float
    opcode: Literal["sleep"] = "sleep"


Op = CreateNodes | CreateNamespaces | CreatePods | Churn | Barrier | DeletePods | Sleep

_COMMON: Final = frozenset({"opcode"})
_OP_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "createNodes": frozenset(
        {"count", "nodeTemplatePath", "labelNodePrepareStrategy", "uniqueNodeLabelStrategy"}
    ),
    "createNamespaces": frozenset({"prefix", "count", "namespaceTemplatePath"}),
    "createPods": frozenset(
        {
            "count",
            "podTemplatePath",
            "collectMetrics",
            "namespace",
            "skipWaitToCompletion",
            "persistentVolumeTemplatePath",
            "persistentVolumeClaimTemplatePath",
            "steadyState",
        }
    ),
    "churn": frozenset({"mode", "number", "intervalMilliseconds", "templatePaths", "namespace"}),
    "barrier": frozenset({"namespaces", "stageRequirement", "labelSelector"}),
    "deletePods": frozenset(
        {"namespace", "labelSelector", "deletePodsPerSecond", "skipWaitToCompletion"}
    ),
    "sleep": frozenset({"duration"}),
}
_IGNORED_CASE_KEYS: Final = frozenset({"labels", "featureGates", "metricsCollectorConfig"})
_PARAM_RE: Final = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_DURATION_RE: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(value: Any, where: str = "duration") -> float:
    """A Go duration (``1.5s``, ``2m30s``, ``500ms``) or a number of seconds, in seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: not a duration: {value!r}")
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(value) or pos == 0:
        raise ConfigError(f"{where}: not a duration: {value!r}")
    return total


# ---------------------------------------------------------------------- cases, workloads


@dataclass(frozen=True)
class Workload:
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    """Minimum SchedulingThroughput Average, pods/s."""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestCase:
    name: str
    template: tuple[Obj, ...]
    """The raw ``workloadTemplate`` ops (``$params`` not yet substituted)."""
    workloads: tuple[Workload, ...]
    default_pod_template: Path | None = None
    scheduler_config: Path | None = None
    """``schedulerConfigPath``: a KubeSchedulerConfiguration for this test case."""
    base: Path = Path(".")
    """The directory template paths are relative to."""
    labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Fields read but not applied (feature gates ...), for the report."""

    __test__ = False  # not a pytest class

    def workload(self, name: str) -> Workload:
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)

    def ops(self, workload: Workload) -> list[Op]:
        """The ops of ``workload``, ``$params`` substituted and checked."""
        out: list[Op] = []
        for i, raw in enumerate(self.template):
            where = f"{self.name}/{workload.name}: workloadTemplate[{i}]"
            fields = _substitute(raw, workload.params, where)
            out.append(_parse_op(fields, self.base, where))
        return out


def load_config(path: str | Path) -> list[TestCase]:
    """The test cases of the workload file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror or e}") from None
    return parse_config(text, base=p.parent, source=str(path))


def parse_config(text: str, *, base: Path = Path("."), source: str = "<config>") -> list[TestCase]:
    """The test cases of a workload file's text; paths in it are relative to ``base``."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: invalid YAML: {e}") from None
    if not isinstance(doc, list):
        raise ConfigError(f"{source}: expected a list of test cases")
    cases: list[TestCase] = []
    seen: set[str] = set()
    for i, item in enumerate(doc):
        case = _parse_case(item, base, f"{source}[{i}]")
        if case.name in seen:
            raise ConfigError(f"{source}[{i}].name: duplicate test case {case.name!r}")
        seen.add(case.name)
        for w in case.workloads:  # fail at load, not halfway through a run
            case.ops(w)
        cases.append(case)
    return cases


def _parse_case(item: Any, base: Path, where: str) -> TestCase:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping")
    known = {
        "name",
        "workloadTemplate",
        "workloads",
        "defaultPodTemplatePath",
        "schedulerConfigPath",
    }
    for key in item:
        if key not in known and key not in _IGNORED_CASE_KEYS:
            raise ConfigError(f"{where}.{key}: unknown field")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: required")
    where = f"{name}"
    ops = item.get("workloadTemplate")
    if not isinstance(ops, list) or not ops:
        raise ConfigError(f"{where}.workloadTemplate: required, a list of ops")
    for j, op in enumerate(ops):
        if not isinstance(op, dict):
            raise ConfigError(f"{where}.workloadTemplate[{j}]: expected a mapping")
    raw_workloads = item.get("workloads")
    if not isinstance(raw_workloads, list) or not raw_workloads:
        raise ConfigError(f"{where}.workloads: required, a list")
    workloads = tuple(
        _parse_workload(w, f"{where}.workloads[{j}]") for j, w in enumerate(raw_workloads)
    )
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}.workloads: duplicate workload names")
    notes = []
    if item.get("featureGates"):
        notes.append(f"{name}: featureGates ignored")
    sched = item.get("schedulerConfigPath")
    if sched is not None and not isinstance(sched, str):
        raise ConfigError(f"{where}.schedulerConfigPath: expected a path")
    default_pod = item.get("defaultPodTemplatePath")
    if default_pod is not None and not isinstance(default_pod, str):
        raise ConfigError(f"{where}.defaultPodTemplatePath: expected a path")
    return TestCase(
        name=name,
        template=tuple(ops),
        workloads=workloads,
        default_pod_template=base / default_pod if default_pod else None,
        scheduler_config=base / sched if sched else None,
        base=base,
        labels=_labels(item.get("labels"), f"{where}.labels"),
        notes=tuple(notes),
    )


def _parse_workload(item: Any, where: str) -> Workload:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping")
    for key in item:
        if key not in {"name", "params", "threshold", "labels", "featureGates"}:
            raise ConfigError(f"{where}.{key}: unknown field")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: required")
    params = item.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}.params: expected a mapping")
    threshold = item.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0
    ):
        raise ConfigError(f"{where}.threshold: expected a number >= 0")
    return Workload(
        name=name,
        params=dict(params),
        threshold=float(threshold) if threshold is not None else None,
        labels=_labels(item.get("labels"), f"{where}.labels"),
    )


def _labels(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


# ---------------------------------------------------------------------- substitution


def _substitute(raw: Mapping[str, Any], params: Mapping[str, Any], where: str) -> Obj:
    out: Obj = {}
    for key, value in raw.items():
        m = _PARAM_RE.match(value) if isinstance(value, str) else None
        if key.endswith("Param") and key != "Param":
            if m is None:
                raise ConfigError(f"{where}.{key}: expected $<param>, got {value!r}")
            target = key[: -len("Param")]
            if target in raw:
                raise ConfigError(f"{where}: both {target} and {key} set")
            out[target] = _param(params, m.group(1), f"{where}.{key}")
        elif m is not None:
            out[key] = _param(params, m.group(1), f"{where}.{key}")
        else:
            out[key] = value
    return out


def _param(params: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in params:
        raise ConfigError(f"{where}: parameter {name!r} not set by the workload")
    return params[name]


# ---------------------------------------------------------------------------- op parsing


def _parse_op(f: Obj, base: Path, where: str) -> Op:
    opcode = f.get("opcode")
    if not isinstance(opcode, str) or opcode not in _OP_FIELDS:
        raise ConfigError(f"{where}.opcode: unknown or unsupported op {opcode!r}")
    where = f"{where} ({opcode})"
    allowed = _OP_FIELDS[opcode] | _COMMON
    for key in f:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown field")
    if opcode == "createNodes":
        label_key = ""
        label_values: tuple[str, ...] = ()
        strategy = f.get("labelNodePrepareStrategy")
        if strategy is not None:
            label_key = _str(
                strategy.get("labelKey") if isinstance(strategy, dict) else None,
                f"{where}.labelNodePrepareStrategy.labelKey",
            )
            values = strategy.get("labelValues")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.labelNodePrepareStrategy.labelValues: required")
            label_values = tuple(str(v) for v in values)
        unique = f.get("uniqueNodeLabelStrategy")
        unique_key = ""
        if unique is not None:
            unique_key = _str(
                unique.get("labelKey") if isinstance(unique, dict) else None,
                f"{where}.uniqueNodeLabelStrategy.labelKey",
            )
        return CreateNodes(
            count=_count(f, where),
            template=_path(f, "nodeTemplatePath", base, where),
            label_key=label_key,
            label_values=label_values,
            unique_label_key=unique_key,
        )
    if opcode == "createNamespaces":
        return CreateNamespaces(
            prefix=_str(f.get("prefix"), f"{where}.prefix"), count=_count(f, where)
        )
    if opcode == "createPods":
        return CreatePods(
            count=_count(f, where),
            template=_path(f, "podTemplatePath", base, where),
            collect_metrics=_bool(f, "collectMetrics", where),
            namespace=_opt_str(f, "namespace", where),
            skip_wait=_bool(f, "skipWaitToCompletion", where),
        )
    if opcode == "churn":
        mode = f.get("mode")
        if mode not in ("create", "recreate"):
            raise ConfigError(f"{where}.mode: expected create or recreate, got {mode!r}")
        paths = f.get("templatePaths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{where}.templatePaths: required, a list of paths")
        interval = f.get("intervalMilliseconds", 500)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ConfigError(f"{where}.intervalMilliseconds: expected a number > 0")
        number = _int(f.get("number", 0), f"{where}.number")
        if mode == "recreate" and number <= 0:
            raise ConfigError(f"{where}.number: must be > 0 for mode recreate")
        return Churn(
            mode=mode,
            templates=tuple(base / p for p in paths),
            interval=float(interval) / 1000.0,
            number=number,
            namespace=_opt_str(f, "namespace", where),
        )
    if opcode == "barrier":
        ns = f.get("namespaces") or []
        if not isinstance(ns, list) or not all(isinstance(n, str) for n in ns):
            raise ConfigError(f"{where}.namespaces: expected a list of names")
        return Barrier(namespaces=tuple(ns))
    if opcode == "deletePods":
        rate = f.get("deletePodsPerSecond", 0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            raise ConfigError(f"{where}.deletePodsPerSecond: expected a number >= 0")
        return DeletePods(
            namespace=_str(f.get("namespace"), f"{where}.namespace"),
            label_selector=_opt_str(f, "labelSelector", where),
            per_second=float(rate),
            skip_wait=_bool(f, "skipWaitToCompletion", where),
        )
    # sleep
    if "duration" not in f:
        raise ConfigError(f"{where}.duration: required")
    return Sleep(seconds=parse_duration(f["duration"], f"{where}.duration"))


def _count(f: Obj, where: str) -> int:
    if "count" not in f:
        raise ConfigError(f"{where}.count: required (count or countParam)")
    return _int(f["count"], f"{where}.count")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: expected an integer >= 0, got {value!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: required, a string")
    return value


def _opt_str(f: Obj, key: str, where: str) -> str:
    value = f.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string")
    return value


def _bool(f: Obj, key: str, where: str) -> bool:
    value = f.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true or false")
    return value


def _path(f: Obj, key: str, base: Path, where: str) -> Path | None:
    value = f.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: expected a path")
    return base / value


def names(cases: Sequence[TestCase]) -> list[str]:
    """Every ``case/workload`` name in ``cases``."""
    return [f"{c.name}/{w.name}" for c in cases for w in c.workloads]
