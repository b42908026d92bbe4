//! `Scheduler` and `ScheduleResult`: the kubemu-sched core bound for Python.
//!
//! Conversions only: msgpack bytes in (decoded by kubemu-sched with the GIL
//! released), plain Python values out. Decode and configuration errors are
//! `ValueError`s; a pod that fits nowhere is a result, not an exception.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde::Deserialize;

use kubemu_sched as ks;
use kubemu_sched::framework::{PluginSpec, PointConfig, ProfileConfig, POINTS};

fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The outcome of scheduling one pod.
#[pyclass(module = "kubemu._core", frozen)]
pub struct ScheduleResult {
    /// `namespace/name`.
    #[pyo3(get)]
    pod: String,
    /// The chosen node; None when the pod was not scheduled.
    #[pyo3(get)]
    node: Option<String>,
    /// `"scheduled"`, `"unschedulable"` (no node fits) or `"error"`.
    #[pyo3(get)]
    status: &'static str,
    /// Feasible nodes found.
    #[pyo3(get)]
    feasible_nodes: usize,
    /// Nodes filtered.
    #[pyo3(get)]
    evaluated_nodes: usize,
    /// Upstream's FitError message (or the error) when not scheduled.
    #[pyo3(get)]
    message: Option<String>,
    reasons: Vec<(String, usize)>,
    scores: Option<Vec<ks::engine::NodeScore>>,
    /// After preemption: the node the pod is now nominated to; `""` when its
    /// nomination must be cleared; None when unchanged.
    #[pyo3(get)]
    nominated_node: Option<String>,
    /// Pods to delete for the nomination: `(namespace, name, uid)`, most
    /// important first.
    #[pyo3(get)]
    victims: Vec<(String, String, String)>,
    /// Lower-priority pods nominated to that node whose nomination must be
    /// cleared: `(namespace, name)`.
    #[pyo3(get)]
    cleared_nominations: Vec<(String, String)>,
}

#[pymethods]
impl ScheduleResult {
    /// Reason → number of nodes that gave it (empty unless unschedulable).
    #[getter]
    fn reasons<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (r, n) in &self.reasons {
            d.set_item(r, n)?;
        }
        Ok(d)
    }

    /// With `record_scores`: per feasible node (in filter order) its name,
    /// total and `{plugin: weighted score}`; None when scoring did not run.
    #[getter]
    #[allow(clippy::type_complexity)]
    fn scores(&self) -> Option<Vec<(String, i64, BTreeMap<&'static str, i64>)>> {
        self.scores.as_ref().map(|v| {
            v.iter()
                .map(|s| {
                    (
                        s.node.to_string(),
                        s.total,
                        s.plugins.iter().copied().collect(),
                    )
                })
                .collect()
        })
    }

    fn __repr__(&self) -> String {
        match &self.node {
            Some(n) => format!("ScheduleResult(pod={:?}, node={n:?})", self.pod),
            None => format!(
                "ScheduleResult(pod={:?}, status={:?}, message={:?})",
                self.pod,
                self.status,
                self.message.as_deref().unwrap_or("")
            ),
        }
    }
}

fn to_result(pod: String, r: Result<ks::ScheduleResult, ks::ScheduleError>) -> ScheduleResult {
    match r {
        Ok(r) => ScheduleResult {
            pod,
            node: Some(r.node.to_string()),
            status: "scheduled",
            feasible_nodes: r.feasible_nodes,
            evaluated_nodes: r.evaluated_nodes,
            message: None,
            reasons: Vec::new(),
            scores: r.scores,
            nominated_node: None,
            victims: Vec::new(),
            cleared_nominations: Vec::new(),
        },
        Err(e) => {
            let post = match &e {
                ks::ScheduleError::Fit(f) => f.post_filter_result(),
                _ => None,
            };
            let (status, reasons) = match &e {
                ks::ScheduleError::Fit(f) => {
                    let mut v: Vec<(String, usize)> =
                        f.reasons.iter().map(|(r, n)| (r.clone(), *n)).collect();
                    v.sort();
                    ("unschedulable", v)
                }
                _ => ("error", Vec::new()),
            };
            ScheduleResult {
                pod,
                node: None,
                status,
                feasible_nodes: 0,
                evaluated_nodes: match &e {
                    ks::ScheduleError::Fit(f) => f.node_statuses.len(),
                    _ => 0,
                },
                message: Some(e.to_string()),
                reasons,
                scores: None,
                nominated_node: post.map(|r| r.nominated_node.to_string()),
                victims: post
                    .map(|r| {
                        r.victims
                            .iter()
                            .map(|p| {
                                (
                                    p.namespace.to_string(),
                                    p.name.to_string(),
                                    p.uid.to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                cleared_nominations: post
                    .map(|r| {
                        r.cleared_nominations
                            .iter()
                            .map(|p| (p.namespace.to_string(), p.name.to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Profile configuration: a KubeSchedulerProfile document (msgpack), merged
// with the default plugins as upstream's `mergePlugins` does.

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct RawProfile {
    scheduler_name: Option<String>,
    percentage_of_nodes_to_score: Option<i32>,
    plugins: BTreeMap<String, RawPluginSet>,
    plugin_config: Vec<RawPluginConfig>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawPluginSet {
    enabled: Vec<RawPlugin>,
    disabled: Vec<RawPlugin>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawPlugin {
    name: String,
    weight: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPluginConfig {
    name: String,
    #[serde(default)]
    args: Option<serde_json::Value>,
}

/// Extension points upstream has that kubemu-sched does not run (yet):
/// accepted when nothing is enabled there.
const UNRUN_POINTS: [&str; 4] = ["permit", "preBind", "bind", "postBind"];

fn spec_of(p: &RawPlugin) -> PluginSpec {
    PluginSpec::new(&p.name, p.weight.unwrap_or(0))
}

/// Upstream `mergePluginSet` for multiPoint: default plugins not disabled
/// (custom entries of the same name replace them in place), then the other
/// custom entries.
fn merge_multi_point(defaults: &[PluginSpec], custom: &RawPluginSet) -> Vec<PluginSpec> {
    let all = custom.disabled.iter().any(|d| d.name == "*");
    let mut out = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    if !all {
        for d in defaults {
            if custom.disabled.iter().any(|x| x.name == d.name) {
                continue;
            }
            match custom.enabled.iter().find(|c| c.name == d.name) {
                Some(c) => {
                    out.push(spec_of(c));
                    replaced.push(&c.name);
                }
                None => out.push(d.clone()),
            }
        }
    }
    for c in &custom.enabled {
        if !replaced.contains(&c.name.as_str()) {
            out.push(spec_of(c));
        }
    }
    out
}

fn profile_config(bytes: &[u8]) -> Result<ProfileConfig, String> {
    let raw: RawProfile =
        rmp_serde::from_slice(bytes).map_err(|e| format!("invalid profile config: {e}"))?;
    let mut cfg = ks::Profile::default_config();
    if let Some(n) = raw.scheduler_name {
        cfg.scheduler_name = n;
    }
    if let Some(p) = raw.percentage_of_nodes_to_score {
        if !(0..=100).contains(&p) {
            return Err(format!(
                "percentageOfNodesToScore: Invalid value: {p}: not in valid range [0-100]"
            ));
        }
        cfg.percentage_of_nodes_to_score = Some(p);
    }
    for (point, set) in &raw.plugins {
        if point == "multiPoint" {
            cfg.multi_point = merge_multi_point(&cfg.multi_point, set);
        } else if POINTS.contains(&point.as_str()) {
            cfg.points.insert(
                point.clone(),
                PointConfig {
                    enabled: set.enabled.iter().map(spec_of).collect(),
                    disabled: set.disabled.iter().map(|d| d.name.clone()).collect(),
                },
            );
        } else if UNRUN_POINTS.contains(&point.as_str()) {
            if let Some(p) = set.enabled.first() {
                return Err(format!(
                    "plugins.{point}.enabled: plugin {:?}: extension point {point} is not supported",
                    p.name
                ));
            }
        } else {
            return Err(format!("plugins.{point}: unknown extension point"));
        }
    }
    for (i, pc) in raw.plugin_config.iter().enumerate() {
        if cfg.plugin_args.contains_key(&pc.name) {
            return Err(format!(
                "pluginConfig[{i}].name: Duplicate value: {:?}",
                pc.name
            ));
        }
        let args = match &pc.args {
            Some(v) => rmp_serde::to_vec_named(v).map_err(|e| format!("pluginConfig[{i}]: {e}"))?,
            None => continue,
        };
        cfg.plugin_args.insert(pc.name.clone(), args);
    }
    Ok(cfg)
}

// ---------------------------------------------------------------------------

struct Inner {
    core: ks::Scheduler,
    /// `namespace/name` → cache key (uid, or `namespace/name`).
    keys: HashMap<String, Box<str>>,
}

fn name_key(pod: &ks::PodInfo) -> String {
    format!("{}/{}", pod.namespace, pod.name)
}

impl Inner {
    fn remove(&mut self, namespace: &str, name: &str) -> bool {
        match self.keys.remove(&format!("{namespace}/{name}")) {
            Some(k) => self.core.cache_mut().remove_pod(&k),
            None => false,
        }
    }
}

/// kube-scheduler's filter-and-score core over a node cache.
#[pyclass(module = "kubemu._core", frozen)]
pub struct Scheduler {
    inner: Mutex<Inner>,
}

fn decode_node(bytes: &[u8]) -> PyResult<ks::Node> {
    ks::Node::from_msgpack(bytes).map_err(|e| value_error(format!("node: {e}")))
}

#[pymethods]
impl Scheduler {
    #[new]
    #[pyo3(signature = (seed=0, percentage_of_nodes_to_score=0, profile=None, *, record_scores=false))]
    fn new(
        py: Python<'_>,
        seed: u64,
        percentage_of_nodes_to_score: i32,
        profile: Option<&[u8]>,
        record_scores: bool,
    ) -> PyResult<Self> {
        if !(0..=100).contains(&percentage_of_nodes_to_score) {
            return Err(value_error(format!(
                "percentage_of_nodes_to_score must be in [0, 100], got {percentage_of_nodes_to_score}"
            )));
        }
        let profile = py
            .detach(|| -> Result<ks::Profile, String> {
                let cfg = match profile {
                    Some(b) => profile_config(b)?,
                    None => ks::Profile::default_config(),
                };
                ks::Profile::build(&cfg, &ks::Registry::in_tree()).map_err(|e| e.to_string())
            })
            .map_err(value_error)?;
        let opts = ks::SchedulerOptions {
            percentage_of_nodes_to_score,
            seed,
            record_scores,
        };
        Ok(Self {
            inner: Mutex::new(Inner {
                core: ks::Scheduler::new(profile, opts),
                keys: HashMap::new(),
            }),
        })
    }

    /// Adds a node (msgpack of a Node object); replaces one of the same name.
    fn add_node(&self, py: Python<'_>, node: &[u8]) -> PyResult<()> {
        py.detach(|| {
            let n = decode_node(node)?;
            self.inner.lock().core.cache_mut().add_node(n);
            Ok(())
        })
    }

    /// Replaces a node (same as `add_node`).
    fn update_node(&self, py: Python<'_>, node: &[u8]) -> PyResult<()> {
        self.add_node(py, node)
    }

    /// Removes a node; False if unknown. Its pods stay accounted until removed.
    fn remove_node(&self, py: Python<'_>, name: &str) -> bool {
        py.detach(|| self.inner.lock().core.cache_mut().remove_node(name))
    }

    /// Sets a namespace's labels (msgpack of a Namespace), for the namespace
    /// selectors of pod affinity terms. Returns the namespace's name.
    fn set_namespace(&self, py: Python<'_>, namespace: &[u8]) -> PyResult<String> {
        py.detach(|| {
            self.inner
                .lock()
                .core
                .cache_mut()
                .set_namespace_msgpack(namespace)
                .map_err(|e| value_error(format!("namespace: {e}")))
        })
    }

    /// Forgets a namespace's labels; false if it was unknown.
    fn remove_namespace(&self, py: Python<'_>, name: &str) -> bool {
        py.detach(|| self.inner.lock().core.cache_mut().remove_namespace(name))
    }

    /// Adds (or moves) a scheduled pod (msgpack of a Pod with spec.nodeName).
    fn add_pod(&self, py: Python<'_>, pod: &[u8]) -> PyResult<()> {
        py.detach(|| {
            let p = ks::PodInfo::from_msgpack(pod).map_err(|e| value_error(format!("pod: {e}")))?;
            if p.node_name.is_empty() {
                return Err(value_error(format!(
                    "pod {}/{}: add_pod takes scheduled pods (spec.nodeName is empty)",
                    p.namespace, p.name
                )));
            }
            let node = p.node_name.clone();
            let mut g = self.inner.lock();
            let nk = name_key(&p);
            let key = p.key();
            if let Some(old) = g.keys.insert(nk, key.clone()) {
                if old != key {
                    g.core.cache_mut().remove_pod(&old);
                }
            }
            g.core.cache_mut().add_pod(Arc::new(p), &node);
            Ok(())
        })
    }

    /// Removes a pod; False if unknown.
    fn remove_pod(&self, py: Python<'_>, namespace: &str, name: &str) -> bool {
        py.detach(|| self.inner.lock().remove(namespace, name))
    }

    /// Un-assumes a pod this scheduler placed (after a failed bind); False if unknown.
    fn forget(&self, py: Python<'_>, namespace: &str, name: &str) -> bool {
        self.remove_pod(py, namespace, name)
    }

    /// Schedules pods (msgpack of Pod objects) in order; each scheduled pod is
    /// assumed in the cache before the next. A pod that does not decode fails
    /// the whole call (ValueError naming its index) before any is scheduled.
    fn schedule_batch(
        &self,
        py: Python<'_>,
        pods: Vec<Bound<'_, PyBytes>>,
    ) -> PyResult<Vec<ScheduleResult>> {
        let raw: Vec<&[u8]> = pods.iter().map(|b| b.as_bytes()).collect();
        py.detach(|| {
            let mut decoded = Vec::with_capacity(raw.len());
            for (i, b) in raw.iter().enumerate() {
                let p = ks::PodInfo::from_msgpack(b)
                    .map_err(|e| value_error(format!("pods[{i}]: {e}")))?;
                decoded.push(Arc::new(p));
            }
            let mut g = self.inner.lock();
            let mut out = Vec::with_capacity(decoded.len());
            for p in &decoded {
                let r = g.core.schedule_one(p);
                let nk = name_key(p);
                if r.is_ok() {
                    let key = p.key();
                    if let Some(old) = g.keys.insert(nk.clone(), key.clone()) {
                        if old != key {
                            g.core.cache_mut().remove_pod(&old);
                        }
                    }
                }
                out.push(to_result(nk, r));
            }
            Ok(out)
        })
    }

    /// Adds or replaces a PodDisruptionBudget (msgpack of a policy/v1
    /// PodDisruptionBudget) for preemption; returns `namespace/name`.
    fn set_pdb(&self, py: Python<'_>, pdb: &[u8]) -> PyResult<String> {
        py.detach(|| {
            let p = ks::pdb::Pdb::from_msgpack(pdb)
                .map_err(|e| value_error(format!("poddisruptionbudget: {e}")))?;
            let key = format!("{}/{}", p.namespace, p.name);
            self.inner.lock().core.pdbs_mut().set(p);
            Ok(key)
        })
    }

    /// Removes a PodDisruptionBudget; False if unknown.
    fn remove_pdb(&self, py: Python<'_>, namespace: &str, name: &str) -> bool {
        py.detach(|| self.inner.lock().core.pdbs_mut().remove(namespace, name))
    }

    /// Number of PodDisruptionBudgets known.
    #[getter]
    fn pdb_count(&self) -> usize {
        self.inner.lock().core.pdbs().len()
    }

    /// Follows a pending pod's `status.nominatedNodeName` (msgpack of the
    /// Pod): nominates it there, or drops its nomination when it has none,
    /// unless `had_nomination` is False (an update that neither had nor has
    /// one keeps a nomination this scheduler made, as upstream).
    #[pyo3(signature = (pod, had_nomination=true))]
    fn set_nominated_pod(&self, py: Python<'_>, pod: &[u8], had_nomination: bool) -> PyResult<()> {
        py.detach(|| {
            let p = ks::PodInfo::from_msgpack(pod).map_err(|e| value_error(format!("pod: {e}")))?;
            self.inner
                .lock()
                .core
                .set_nominated_pod(Arc::new(p), had_nomination);
            Ok(())
        })
    }

    /// Drops the nomination of a pod (deleted or bound); False if it had none.
    fn remove_nominated_pod(&self, py: Python<'_>, namespace: &str, name: &str) -> bool {
        py.detach(|| {
            self.inner
                .lock()
                .core
                .remove_nominated_pod(&format!("{namespace}/{name}"))
                .is_some()
        })
    }

    /// The node a pod is nominated to, if any.
    fn nominated_node(&self, namespace: &str, name: &str) -> Option<String> {
        let g = self.inner.lock();
        g.core
            .nominator()
            .node_of(&format!("{namespace}/{name}"))
            .map(str::to_string)
    }

    /// Nodes in the cache.
    #[getter]
    fn node_count(&self) -> usize {
        self.inner.lock().core.cache().num_nodes()
    }

    /// Pods assumed or added.
    #[getter]
    fn pod_count(&self) -> usize {
        self.inner.lock().keys.len()
    }

    /// The node a pod is on (assumed or added), if known.
    fn pod_node(&self, namespace: &str, name: &str) -> Option<String> {
        let g = self.inner.lock();
        let key = g.keys.get(&format!("{namespace}/{name}"))?;
        g.core.cache().pod_node(key).map(str::to_string)
    }

    /// The profile's plugins at an extension point, in run order.
    fn plugins(&self, point: &str) -> PyResult<Vec<&'static str>> {
        if !POINTS.contains(&point) {
            return Err(value_error(format!(
                "unknown extension point {point:?}; one of {POINTS:?}"
            )));
        }
        Ok(self.inner.lock().core.profile().plugin_names(point))
    }
}

/// Adds the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scheduler>()?;
    m.add_class::<ScheduleResult>()?;
    Ok(())
}
