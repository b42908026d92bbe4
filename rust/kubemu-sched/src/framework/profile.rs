//! A profile: the plugins enabled at each extension point, their score
//! weights, and the sampling percentage (upstream `KubeSchedulerProfile`).

use std::collections::HashMap;
use std::sync::Arc;

use super::interface::Plugin;
use super::registry::{ConfigError, PluginArgs, Registry};

/// One enabled plugin with an optional score weight (0 or absent → 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginSpec {
    /// Registry name.
    pub name: String,
    /// Score weight.
    pub weight: i64,
}

impl PluginSpec {
    /// A spec with `weight`.
    pub fn new(name: &str, weight: i64) -> Self {
        Self {
            name: name.to_string(),
            weight,
        }
    }
}

/// Enabled/disabled plugins at one extension point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PointConfig {
    /// Enabled here explicitly (these override the multi-point entry of the
    /// same name and come first).
    pub enabled: Vec<PluginSpec>,
    /// Disabled here (`"*"` disables every multi-point plugin here).
    pub disabled: Vec<String>,
}

/// The extension points a profile configures.
pub const POINTS: [&str; 8] = [
    "queueSort",
    "preEnqueue",
    "preFilter",
    "filter",
    "preScore",
    "score",
    "reserve",
    "postFilter",
];

/// A profile's configuration (already merged with defaults).
#[derive(Clone, Debug, Default)]
pub struct ProfileConfig {
    /// `schedulerName` the profile serves.
    pub scheduler_name: String,
    /// Per-profile `percentageOfNodesToScore` (overrides the global one).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// `plugins.multiPoint.enabled`, in order.
    pub multi_point: Vec<PluginSpec>,
    /// Per-point config keyed by a name in [`POINTS`].
    pub points: HashMap<String, PointConfig>,
    /// `pluginConfig`: plugin name → msgpack args.
    pub plugin_args: HashMap<String, Vec<u8>>,
}

/// A built profile: plugin instances and, per extension point, the indices of
/// the plugins to run in order.
pub struct Profile {
    /// `schedulerName`.
    pub scheduler_name: String,
    /// Per-profile sampling percentage.
    pub percentage_of_nodes_to_score: Option<i32>,
    /// The plugin instances (one per name).
    pub plugins: Vec<Arc<dyn Plugin>>,
    /// Plugin indices per point, in run order, keyed by [`POINTS`] position.
    pub(crate) points: [Vec<usize>; 8],
    /// Score weight per plugin index (1 when unset).
    pub(crate) weights: Vec<i64>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |p: usize| -> Vec<&str> {
            self.points[p]
                .iter()
                .map(|&i| self.plugins[i].name())
                .collect()
        };
        let mut d = f.debug_struct("Profile");
        d.field("scheduler_name", &self.scheduler_name);
        for (i, p) in POINTS.iter().enumerate() {
            d.field(p, &names(i));
        }
        d.finish()
    }
}

fn implements(p: &dyn Plugin, point: usize) -> bool {
    match point {
        0 => p.as_queue_sort().is_some(),
        1 => p.as_pre_enqueue().is_some(),
        2 => p.as_pre_filter().is_some(),
        3 => p.as_filter().is_some(),
        4 => p.as_pre_score().is_some(),
        5 => p.as_score().is_some(),
        6 => p.as_reserve().is_some(),
        _ => p.as_post_filter().is_some(),
    }
}

impl Profile {
    /// Builds the plugins of `cfg` from `registry` and expands the
    /// multi-point list over the points each plugin implements, as upstream's
    /// `expandMultiPointPlugins`: per point, explicitly enabled plugins that
    /// override a multi-point entry first, then the other multi-point
    /// plugins, then the remaining explicit ones; `disabled` removes
    /// multi-point entries. A plugin enabled explicitly at a point it does
    /// not implement, an unknown name, or bad args are errors.
    pub fn build(cfg: &ProfileConfig, registry: &Registry) -> Result<Self, ConfigError> {
        let mut plugins: Vec<Arc<dyn Plugin>> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut weights: Vec<i64> = Vec::new();
        let mut instantiate =
            |spec: &PluginSpec, plugins: &mut Vec<Arc<dyn Plugin>>| -> Result<usize, ConfigError> {
                if let Some(&i) = by_name.get(&spec.name) {
                    return Ok(i);
                }
                let args = PluginArgs(cfg.plugin_args.get(&spec.name).map(Vec::as_slice));
                plugins.push(registry.build(&spec.name, args)?);
                by_name.insert(spec.name.clone(), plugins.len() - 1);
                Ok(plugins.len() - 1)
            };
        for point in POINTS {
            if let Some(pc) = cfg.points.get(point) {
                for s in &pc.enabled {
                    instantiate(s, &mut plugins)?;
                }
            }
        }
        for s in &cfg.multi_point {
            instantiate(s, &mut plugins)?;
        }
        for name in cfg.plugin_args.keys() {
            if !registry.contains(name) {
                return Err(ConfigError(format!(
                    "pluginConfig: plugin {name:?} does not exist"
                )));
            }
        }
        weights.resize(plugins.len(), 1);
        let index = |name: &str| plugins.iter().position(|p| p.name() == name);

        let mut points: [Vec<usize>; 8] = Default::default();
        for (pi, point) in POINTS.iter().enumerate() {
            let empty = PointConfig::default();
            let pc = cfg.points.get(*point).unwrap_or(&empty);
            let explicit: Vec<usize> = pc.enabled.iter().filter_map(|s| index(&s.name)).collect();
            for &i in &explicit {
                if !implements(&*plugins[i], pi) {
                    return Err(ConfigError(format!(
                        "plugins.{point}.enabled: plugin {:?} does not extend {point}",
                        plugins[i].name()
                    )));
                }
            }
            let all_disabled = pc.disabled.iter().any(|d| d == "*");
            let mut overrides = Vec::new();
            let mut multi = Vec::new();
            if !all_disabled {
                for s in &cfg.multi_point {
                    let Some(i) = index(&s.name) else { continue };
                    if !implements(&*plugins[i], pi) || pc.disabled.contains(&s.name) {
                        continue;
                    }
                    if explicit.contains(&i) {
                        overrides.push(i);
                    } else if multi.contains(&i) {
                        return Err(ConfigError(format!(
                            "plugins.multiPoint: plugin {:?} already registered",
                            s.name
                        )));
                    } else {
                        multi.push(i);
                    }
                }
            }
            let mut order = Vec::new();
            for i in explicit.iter().filter(|i| overrides.contains(i)) {
                order.push(*i);
            }
            order.extend(multi);
            for i in explicit {
                if !order.contains(&i) {
                    order.push(i);
                }
            }
            points[pi] = order;
        }
        // Weights: an explicit score entry wins over the multi-point one.
        let score_enabled = cfg
            .points
            .get("score")
            .map(|p| p.enabled.as_slice())
            .unwrap_or_default();
        for s in cfg.multi_point.iter().chain(score_enabled) {
            if let Some(i) = index(&s.name) {
                weights[i] = if s.weight == 0 { 1 } else { s.weight };
            }
        }
        if points[0].len() > 1 {
            return Err(ConfigError(
                "plugins.queueSort: only one queue sort plugin can be enabled".into(),
            ));
        }
        Ok(Self {
            scheduler_name: cfg.scheduler_name.clone(),
            percentage_of_nodes_to_score: cfg.percentage_of_nodes_to_score,
            plugins,
            points,
            weights,
        })
    }

    /// Upstream's default profile (v1 `getDefaultPlugins`) restricted to the
    /// plugins this crate implements, with upstream's weights.
    pub fn default_config() -> ProfileConfig {
        use crate::plugins::names::*;
        ProfileConfig {
            scheduler_name: crate::model::DEFAULT_SCHEDULER_NAME.to_string(),
            multi_point: [
                (SCHEDULING_GATES, 0),
                (PRIORITY_SORT, 0),
                (NODE_UNSCHEDULABLE, 0),
                (NODE_NAME, 0),
                (TAINT_TOLERATION, 3),
                (NODE_AFFINITY, 2),
                (NODE_PORTS, 0),
                (NODE_RESOURCES_FIT, 1),
                (POD_TOPOLOGY_SPREAD, 2),
                (INTER_POD_AFFINITY, 2),
                (DEFAULT_PREEMPTION, 0),
                (NODE_RESOURCES_BALANCED_ALLOCATION, 1),
                (IMAGE_LOCALITY, 1),
            ]
            .into_iter()
            .map(|(n, w)| PluginSpec::new(n, w))
            .collect(),
            ..ProfileConfig::default()
        }
    }

    /// The default profile built from the in-tree registry.
    pub fn default_profile() -> Self {
        Self::build(&Self::default_config(), &Registry::in_tree()).expect("default profile builds")
    }

    /// Names of the plugins at `point` (a name in [`POINTS`]), in run order.
    pub fn plugin_names(&self, point: &str) -> Vec<&'static str> {
        POINTS
            .iter()
            .position(|p| *p == point)
            .map(|pi| {
                self.points[pi]
                    .iter()
                    .map(|&i| self.plugins[i].name())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The score weight of plugin `name` (None if not a score plugin here).
    pub fn weight(&self, name: &str) -> Option<i64> {
        self.points[5]
            .iter()
            .find(|&&i| self.plugins[i].name() == name)
            .map(|&i| self.weights[i])
    }
}
