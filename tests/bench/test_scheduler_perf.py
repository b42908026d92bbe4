"""``kubemu bench scheduler-perf``: the workload file format, template stamping, the report and
one small end-to-end run (no timing assertions)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from kubemu.bench.scheduler_perf import cli
from kubemu.bench.scheduler_perf.config import (
    Barrier,
    Churn,
    ConfigError,
    CreateNamespaces,
    CreateNodes,
    CreatePods,
    DeletePods,
    Sleep,
    load_config,
    parse_config,
    parse_duration,
)
from kubemu.bench.scheduler_perf.report import (
    histogram_item,
    quantile,
    summary_table,
    throughput_item,
    to_json,
    verdict,
)
from kubemu.bench.scheduler_perf.runner import (
    Histogram,
    Measurement,
    RunOptions,
    WorkloadResult,
    finish_samples,
    run_workload,
)
from kubemu.bench.scheduler_perf.templates import Template, load_template, shipped_config
from kubemu.cli.main import main as kubemu_main

UPSTREAM_SHAPED = """
- name: SchedulingBasic
  defaultPodTemplatePath: ../templates/pod-default.yaml
  featureGates:
    SchedulerQueueingHints: true
  workloadTemplate:
  - opcode: createNodes
    countParam: $initNodes
    labelNodePrepareStrategy:
      labelKey: topology.kubernetes.io/zone
      labelValues: [moon-1, moon-2]
  - opcode: createNamespaces
    prefix: sched
    count: 2
  - opcode: createPods
    countParam: $initPods
    namespace: sched-0
  - opcode: createPods
    countParam: $measurePods
    podTemplatePath: ../templates/pod-with-pod-anti-affinity.yaml
    collectMetrics: true
    skipWaitToCompletion: false
  - opcode: churn
    mode: recreate
    number: 2
    templatePaths: [../templates/churn/node-default.yaml]
    intervalMilliseconds: 250
  - opcode: barrier
  - opcode: deletePods
    namespace: $deleteNs
    deletePodsPerSecond: 50
  - opcode: sleep
    durationParam: $pause
  workloads:
  - name: 500Nodes
    labels: [integration-test, short]
    params: {initNodes: 500, initPods: 500, measurePods: 1000, deleteNs: sched-0, pause: 2s}
  - name: 5000Nodes_10000Pods
    threshold: 270
    params: {initNodes: 5000, initPods: 1000, measurePods: 10000, deleteNs: sched-0, pause: 1m}
"""


def test_parse_upstream_shaped_config_substitutes_params(tmp_path: Path) -> None:
    [case] = parse_config(UPSTREAM_SHAPED, base=tmp_path / "misc")
    assert case.name == "SchedulingBasic"
    assert [w.name for w in case.workloads] == ["500Nodes", "5000Nodes_10000Pods"]
    assert case.workload("5000Nodes_10000Pods").threshold == 270
    assert case.workload("500Nodes").threshold is None
    assert case.default_pod_template == tmp_path / "misc/../templates/pod-default.yaml"
    assert case.notes  # featureGates are read, not applied: said so
    ops = case.ops(case.workload("5000Nodes_10000Pods"))
    nodes, nss, init, measure, churn, barrier, delete, sleep = ops
    assert nodes == CreateNodes(
        count=5000, label_key="topology.kubernetes.io/zone", label_values=("moon-1", "moon-2")
    )
    assert nss == CreateNamespaces(prefix="sched", count=2)
    assert init == CreatePods(count=1000, namespace="sched-0")
    assert isinstance(measure, CreatePods)
    assert (measure.count, measure.collect_metrics, measure.namespace) == (10000, True, "")
    assert measure.template == tmp_path / "misc/../templates/pod-with-pod-anti-affinity.yaml"
    assert isinstance(churn, Churn)
    assert (churn.mode, churn.number, churn.interval) == ("recreate", 2, 0.25)
    assert barrier == Barrier()
    assert delete == DeletePods(namespace="sched-0", per_second=50.0)
    assert sleep == Sleep(seconds=60.0)
    small = case.ops(case.workload("500Nodes"))
    assert isinstance(small[0], CreateNodes) and small[0].count == 500
    assert small[-1] == Sleep(seconds=2.0)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "- name: X\n  workloadTemplate: [{opcode: createNodes, countParam: $n}]\n"
            "  workloads: [{name: w, params: {}}]\n",
            "parameter 'n'",
        ),
        ("- name: X\n  workloadTemplate: [{opcode: fly}]\n  workloads: [{name: w}]\n", "opcode"),
        (
            "- name: X\n  workloadTemplate: [{opcode: createPods, count: 1, colour: red}]\n"
            "  workloads: [{name: w}]\n",
            "colour",
        ),
        (
            "- name: X\n  workloadTemplate: [{opcode: createPods, count: -1}]\n"
            "  workloads: [{name: w}]\n",
            "count",
        ),
        (
            "- name: X\n  workloadTemplate: [{opcode: sleep, duration: soon}]\n"
            "  workloads: [{name: w}]\n",
            "duration",
        ),
        (
            "- name: X\n  workloadTemplate: [{opcode: createNodes, count: 1}]\n"
            "  workloads: [{name: w, threshold: fast}]\n",
            "threshold",
        ),
        ("name: X\n", "list of test cases"),
    ],
)
def test_bad_configs_name_the_field(text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        parse_config(text)


def test_parse_duration() -> None:
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration(3) == 3.0
    with pytest.raises(ConfigError):
        parse_duration("3 parsecs")


def test_shipped_config_loads_with_every_template() -> None:
    path = shipped_config()
    cases = load_config(path)
    names = {c.name for c in cases}
    assert {
        "SchedulingBasic",
        "SchedulingPodAntiAffinity",
        "TopologySpreading",
        "PreferredTopologySpreading",
        "SchedulingNodeAffinity",
        "MixedSchedulingBasePod",
        "Unschedulable",
        "PreemptionBasic",
    } <= names
    for case in cases:
        assert "500Nodes" in [w.name for w in case.workloads]
        for w in case.workloads:
            for op in case.ops(w):
                paths = [getattr(op, "template", None), *getattr(op, "templates", ())]
                for p in paths:
                    if p is not None:
                        load_template(p)
    basic = next(c for c in cases if c.name == "SchedulingBasic")
    assert basic.workload("5000Nodes_10000Pods").threshold == 270
    preemption = next(c for c in cases if c.name == "PreemptionBasic")
    assert preemption.workload("500Nodes").threshold == 18
    assert [w.name for w in preemption.workloads] == [
        "500Nodes",
        "5000Nodes",
        "10000Nodes_10000Pods",
    ]
    assert cli.select(cases, "SchedulingBasic/5000Nodes", False) == [
        (basic, basic.workload("5000Nodes"))
    ]
    quick = cli.select(cases, None, True)
    assert [w.name for _, w in quick] == ["500Nodes"] * len(cases)


def test_templates_stamp_names_and_node_labels() -> None:
    node = load_template(shipped_config("templates/node-default.yaml"))
    t = Template(node)
    a, b = t.stamp(), t.stamp()
    assert a["metadata"]["name"] == "scheduler-perf-0"
    assert b["metadata"]["name"] == "scheduler-perf-1"
    assert "generateName" not in a["metadata"]
    assert a["metadata"]["labels"]["kubernetes.io/hostname"] == "scheduler-perf-0"
    assert "namespace" not in a["metadata"]
    assert node["metadata"]["generateName"] == "scheduler-perf-"  # the template is untouched
    assert "name" not in node["metadata"]
    assert a["status"]["capacity"] == {"pods": "110", "cpu": "4", "memory": "32Gi"}

    pod = load_template(shipped_config("templates/pod-default.yaml"))
    pods = list(Template(pod, start=5).stamp_many(2, "ns-1"))
    assert [p["metadata"]["name"] for p in pods] == ["pod-5", "pod-6"]
    assert {p["metadata"]["namespace"] for p in pods} == {"ns-1"}
    req = pods[0]["spec"]["containers"][0]["resources"]["requests"]
    assert req == {"cpu": "100m", "memory": "500Mi"}

    unnamed = Template({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}})
    assert [unnamed.stamp()["metadata"]["name"] for _ in range(2)] == ["pod-0", "pod-1"]
    fixed = Template({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    assert [fixed.stamp()["metadata"]["name"] for _ in range(2)] == ["n", "n-1"]


def test_template_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: text\n")
    with pytest.raises(ConfigError, match="kind"):
        load_template(bad)
    with pytest.raises(ConfigError, match="missing"):
        load_template(tmp_path / "missing.yaml")


def _result(samples: list[float], threshold: float | None) -> WorkloadResult:
    m = Measurement(op=2, pods=1000, throughputs=samples, samples=[(1.0, 500), (2.0, 1000)])
    m.seconds = 2.0
    m.histograms = {
        (
            "scheduler_scheduling_attempt_duration_seconds",
            (("profile", "default-scheduler"), ("result", "scheduled")),
        ): Histogram([(0.001, 600.0), (0.002, 1000.0), (math.inf, 1000.0)], 1000.0, 1.2)
    }
    return WorkloadResult("SchedulingBasic", "500Nodes", threshold, [m], nodes=500, pods=1500)


def test_report_json_shape_and_threshold_verdict() -> None:
    r = _result([100.0, 300.0, 200.0, 400.0], 250.0)
    doc = to_json([r])
    assert doc["version"] == "v1"
    tp, lat = doc["dataItems"]
    assert tp["unit"] == "pods/s"
    assert tp["labels"] == {"Metric": "SchedulingThroughput", "Name": "SchedulingBasic/500Nodes"}
    assert tp["data"] == {
        "Average": 250.0,
        "Perc50": 200.0,
        "Perc90": 400.0,
        "Perc95": 400.0,
        "Perc99": 400.0,
    }
    assert lat["unit"] == "ms"
    assert lat["labels"]["Metric"] == "scheduler_scheduling_attempt_duration_seconds"
    assert lat["labels"]["result"] == "scheduled"
    assert set(lat["data"]) == {"Average", "Perc50", "Perc90", "Perc95", "Perc99"}
    assert lat["data"]["Average"] == pytest.approx(1.2)
    assert lat["data"]["Perc50"] == pytest.approx(0.5 / 0.6)  # interpolated in [0, 1 ms]
    json.dumps(doc)  # serialisable

    assert (verdict(r) or "").startswith("PASS")
    assert (verdict(_result([100.0, 200.0], 250.0)) or "").startswith("FAIL")
    assert (verdict(_result([], 1.0)) or "").startswith("FAIL")
    assert verdict(_result([5.0], None)) is None
    failed = _result([1000.0], 1.0)
    failed.error = "stalled"
    assert (verdict(failed) or "").startswith("FAIL")
    table = summary_table([r, failed])
    assert "SchedulingBasic/500Nodes" in table and "PASS" in table and "stalled" in table


def test_quantile_and_empty_throughput() -> None:
    h = Histogram([(1.0, 10.0), (2.0, 20.0), (math.inf, 30.0)], 30.0, 40.0)
    assert quantile(0.5, h) == pytest.approx(1.5)
    assert quantile(0.99, h) == 2.0  # in +Inf: the last finite bound
    item = histogram_item("a/b", "m", (), h)
    assert item["data"]["Average"] == pytest.approx(40.0 / 30.0 * 1000.0)
    assert throughput_item("a/b", [])["data"] == {}


TINY = """
- name: SchedulingBasic
  defaultPodTemplatePath: templates/pod-default.yaml
  workloadTemplate:
  - opcode: createNodes
    countParam: $initNodes
    nodeTemplatePath: templates/node-default.yaml
  - opcode: createPods
    countParam: $initPods
  - opcode: createPods
    countParam: $measurePods
    collectMetrics: true
  workloads:
  - name: 50Nodes
    threshold: 0
    params: {initNodes: 50, initPods: 20, measurePods: 100}
"""


async def test_end_to_end_tiny_scheduling_basic() -> None:
    [case] = parse_config(TINY, base=shipped_config().parent)
    result = await run_workload(case, case.workloads[0], RunOptions(sample_interval=0.05))
    assert result.error is None
    assert (result.nodes, result.pods) == (50, 120)
    [m] = result.measurements
    assert m.pods == 100
    assert m.samples and m.samples[-1][1] == 100  # every measured pod observed bound
    assert m.throughputs
    items = to_json([result])["dataItems"]
    metrics = [i["labels"]["Metric"] for i in items]
    assert metrics[0] == "SchedulingThroughput"
    assert "scheduler_scheduling_attempt_duration_seconds" in metrics
    assert set(items[0]["data"]) == {"Average", "Perc50", "Perc90", "Perc95", "Perc99"}
    assert (verdict(result) or "").startswith("PASS")


def test_cli_runs_a_config_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY.replace("templates/", str(shipped_config().parent / "templates") + "/"))
    out = tmp_path / "out" / "result.json"
    code = kubemu_main(
        ["bench", "scheduler-perf", str(cfg), "--output", str(out), "--sample-interval", "0.05"]
    )
    assert code == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out.strip().splitlines()[-1])
    assert doc == json.loads(out.read_text())
    assert doc["dataItems"][0]["labels"]["Name"] == "SchedulingBasic/50Nodes"
    assert "PASS SchedulingBasic/50Nodes" in captured.err
    # matplotlib comes with the test extras: the plot is a PNG next to the JSON.
    png = out.with_suffix(".png")
    assert f"plot: {png}" in captured.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_unknown_config_and_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-config.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["shipped", "--workload", "Nope"]) == 2


TINY_PREEMPTION = """
- name: PreemptionBasic
  workloadTemplate:
  - opcode: createNodes
    countParam: $initNodes
  - opcode: createPods
    countParam: $initPods
    podTemplatePath: templates/pod-low-priority.yaml
  - opcode: createPods
    countParam: $measurePods
    podTemplatePath: templates/pod-high-priority.yaml
    collectMetrics: true
  workloads:
  - name: 5Nodes
    params: {initNodes: 5, initPods: 20, measurePods: 5}
- name: Unschedulable
  workloadTemplate:
  - opcode: createNodes
    countParam: $initNodes
  - opcode: createPods
    countParam: $initPods
    podTemplatePath: templates/pod-default.yaml
  - opcode: churn
    mode: create
    templatePaths:
    - templates/pod-high-priority-large-cpu.yaml
    intervalMilliseconds: 50
  - opcode: createPods
    countParam: $measurePods
    podTemplatePath: templates/pod-default.yaml
    collectMetrics: true
  workloads:
  - name: 5Nodes
    params: {initNodes: 5, initPods: 1, measurePods: 10}
"""


async def test_end_to_end_tiny_preemption_basic() -> None:
    """Four 900m low-priority pods fill each 4-CPU node: a 3-CPU high-priority pod is bound only
    once three victims of its node are gone."""
    preemption, _ = parse_config(TINY_PREEMPTION, base=shipped_config().parent)
    result = await run_workload(
        preemption, preemption.workloads[0], RunOptions(sample_interval=0.05, stall_timeout=30)
    )
    assert result.error is None
    assert (result.nodes, result.pods) == (5, 25)
    [m] = result.measurements
    assert m.samples and m.samples[-1][1] == 5


async def test_end_to_end_tiny_unschedulable_churn() -> None:
    """The churned 9-CPU priority-10 pods never fit (preemption finds no candidate) while the
    measured pods all bind."""
    _, unschedulable = parse_config(TINY_PREEMPTION, base=shipped_config().parent)
    result = await run_workload(
        unschedulable, unschedulable.workloads[0], RunOptions(sample_interval=0.05)
    )
    assert result.error is None
    [m] = result.measurements
    assert m.samples[-1][1] == 10


def test_a_short_last_interval_is_folded_into_the_sample_before_it() -> None:
    # Samples at 1 s (1000 pods) and 2 s (3000 pods); then 100 more pods in 0.1 s.
    m = Measurement(op=0, pods=3100, throughputs=[1000.0, 2000.0])
    m.prev, m.last = (1.0, 1000), (2.0, 3000)
    finish_samples(m, 2.1, 3100, (0.0, 0), 1.0)
    assert m.throughputs == pytest.approx([1000.0, 2100 / 1.1])  # not 1,000 pods/s of its own
    # A last interval of half a sample or more stays a sample of its own.
    m = Measurement(op=0, pods=3600, throughputs=[1000.0, 2000.0])
    m.prev, m.last = (1.0, 1000), (2.0, 3000)
    finish_samples(m, 2.6, 3600, (0.0, 0), 1.0)
    assert m.throughputs == pytest.approx([1000.0, 2000.0, 1000.0])
    # Nothing bound since the last sample: nothing added.
    finish_samples(m, 2.9, 3000, (0.0, 0), 1.0)
    assert len(m.throughputs) == 3
    # A run shorter than a short interval: its only sample.
    m = Measurement(op=0, pods=50)
    finish_samples(m, 0.2, 50, (0.0, 0), 1.0)
    assert m.throughputs == pytest.approx([250.0])
