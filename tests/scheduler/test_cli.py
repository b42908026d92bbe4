"""KubeSchedulerConfiguration parsing and ``kubemu scheduler`` as a process."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubemu.scheduler.config import ConfigError, load_config, parse_config

from tests.cli.conftest import KUBEMU, ApiServer, free_port, start_apiserver

CONFIG = """\
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
parallelism: 16
profiles:
  - schedulerName: default-scheduler
  - schedulerName: packer
    percentageOfNodesToScore: 100
    plugins:
      score:
        disabled: [{name: NodeResourcesBalancedAllocation}]
    pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}
"""


def test_config_fields(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    cfg = load_config(path)
    assert (cfg.pod_initial_backoff_seconds, cfg.pod_max_backoff_seconds) == (2, 20)
    assert cfg.scheduler_names == {"default-scheduler", "packer"}
    default, packer = cfg.profiles
    assert default.core_document(cfg.percentage_of_nodes_to_score) == {
        "schedulerName": "default-scheduler",
        "percentageOfNodesToScore": 30,
    }
    doc = packer.core_document(cfg.percentage_of_nodes_to_score)
    assert doc["percentageOfNodesToScore"] == 100
    assert doc["plugins"] == {"score": {"disabled": [{"name": "NodeResourcesBalancedAllocation"}]}}
    assert parse_config(None).scheduler_names == {"default-scheduler"}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"apiVersion": "kubescheduler.config.k8s.io/v1beta3"}, "apiVersion"),
        ({"bogus": 1}, "bogus"),
        ({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore"),
        ({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2}, "podMaxBackoffSeconds"),
        (
            {"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]},
            "profiles[1].schedulerName",
        ),
        ({"profiles": [{"schedulerName": ""}]}, "profiles[0].schedulerName"),
        ({"profiles": [{"plugin": {}}]}, "profiles[0].plugin"),
        ({"extenders": [{"urlPrefix": "http://x"}]}, "extenders"),
    ],
)
def test_bad_configs_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(doc)
    assert str(e.value).startswith(field)


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServer]:
    server = start_apiserver()
    try:
        yield server
    finally:
        assert server.stop() == 0


def test_scheduler_process_binds_pods_and_serves_metrics(
    apiserver: ApiServer, tmp_path: Path
) -> None:
    manifest = tmp_path / "objs.yaml"
    manifest.write_text(
        """\
apiVersion: v1
kind: Node
metadata: {name: worker-1}
status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: 100m}}}]
"""
    )
    assert apiserver.kubemu("apply", "-f", str(manifest)).returncode == 0
    config = tmp_path / "sched.yaml"
    config.write_text(CONFIG)
    port = free_port()
    proc = subprocess.Popen(
        [
            *KUBEMU,
            "scheduler",
            "--server",
            apiserver.address,
            "--config",
            str(config),
            "--metrics-address",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "kubemu scheduler (default-scheduler, packer)" in banner
        deadline = time.monotonic() + 30
        node = ""
        while time.monotonic() < deadline:
            out = apiserver.kubemu("get", "pod", "web", "-o", "json")
            node = json.loads(out.stdout)["spec"].get("nodeName", "")
            if node:
                break
            time.sleep(0.1)
        assert node == "worker-1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        assert (
            'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 1.0'
            in text
        )
        assert 'scheduler_pending_pods{queue="active"} 0.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_bad_config_is_rejected_at_start(apiserver: ApiServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: kubescheduler.config.k8s.io/v1\npodMaxBackoffSeconds: 0\n")
    out = apiserver.kubemu("scheduler", "--config", str(bad), "--metrics-address", "")
    assert out.returncode == 1
    assert "podMaxBackoffSeconds" in out.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("profiles: [{plugins: {score: {enabled: [{name: NoSuchPlugin}]}}}]\n")
    out = apiserver.kubemu("scheduler", "--config", str(unknown), "--metrics-address", "")
    assert out.returncode == 1
    assert "NoSuchPlugin" in out.stderr
