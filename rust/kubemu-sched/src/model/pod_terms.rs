//! The pod-to-pod parts of a pod: label selectors, inter-pod affinity terms,
//! topology spread constraints and owner references, parsed once when the
//! pod is decoded (upstream `framework.PodInfo`'s affinity terms and
//! PodTopologySpread's `topologySpreadConstraint`).

use super::labels::Labels;
use super::raw::{
    RawLabelSelector, RawOwnerReference, RawPodAffinity, RawPodAffinityTerm,
    RawTopologySpreadConstraint,
};
use super::selector::Requirement;

/// A parsed `metav1.LabelSelector` (upstream `LabelSelectorAsSelector`):
/// a nil selector matches nothing; `{}` matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelSelector {
    /// `nil`: matches nothing (upstream `labels.Nothing()`).
    #[default]
    Nothing,
    /// Requirements, ANDed; none = everything.
    Requirements(Vec<Requirement>),
}

impl LabelSelector {
    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Self::Requirements(Vec::new())
    }

    /// A selector requiring every pair of `set` (upstream `SelectorFromSet`).
    pub fn from_set(set: &Labels) -> Self {
        Self::Requirements(
            set.iter()
                .map(|(k, v)| Requirement::In(k.into(), vec![v.into()]))
                .collect(),
        )
    }

    /// Parses an optional selector. `matchLabels` become `In` requirements;
    /// only `In`, `NotIn`, `Exists` and `DoesNotExist` are valid operators.
    pub(crate) fn parse(raw: Option<&RawLabelSelector>) -> Result<Self, String> {
        let Some(raw) = raw else {
            return Ok(Self::Nothing);
        };
        let mut reqs: Vec<Requirement> = raw
            .match_labels
            .iter()
            .map(|(k, v)| Requirement::In(k.as_str().into(), vec![v.as_str().into()]))
            .collect();
        for e in &raw.match_expressions {
            match e.operator.as_str() {
                "In" | "NotIn" | "Exists" | "DoesNotExist" => reqs.push(Requirement::parse(e)?),
                op => return Err(format!("{op:?} is not a valid label selector operator")),
            }
        }
        Ok(Self::Requirements(reqs))
    }

    /// True when `labels` satisfy the selector.
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Self::Nothing => false,
            Self::Requirements(reqs) => reqs.iter().all(|r| r.matches(|k| labels.get(k))),
        }
    }

    /// Upstream `Selector.Empty()`: true for a selector with no requirements
    /// (which matches everything); false for `Nothing`.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Requirements(r) if r.is_empty())
    }

    /// Upstream `mergeLabelSetWithSelector`: the pairs of `set` ANDed with
    /// this selector's requirements (a `Nothing` selector contributes none).
    #[must_use]
    pub fn merged_with_set(&self, set: &Labels) -> Self {
        let Self::Requirements(mut reqs) = Self::from_set(set) else {
            unreachable!("from_set gives requirements")
        };
        if let Self::Requirements(own) = self {
            reqs.extend(own.iter().cloned());
        }
        Self::Requirements(reqs)
    }
}

/// One inter-pod affinity term (upstream `framework.AffinityTerm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffinityTerm {
    /// Namespaces named by the term; the pod's own when the term names none
    /// and has no namespace selector.
    pub namespaces: Vec<Box<str>>,
    /// The pod label selector.
    pub selector: LabelSelector,
    /// The topology key.
    pub topology_key: Box<str>,
    /// The namespace selector (`Nothing` when nil).
    pub namespace_selector: LabelSelector,
}

impl AffinityTerm {
    fn parse(owner_namespace: &str, t: &RawPodAffinityTerm) -> Result<Self, String> {
        let namespaces = if t.namespaces.is_empty() && t.namespace_selector.is_none() {
            vec![owner_namespace.into()]
        } else {
            t.namespaces.iter().map(|n| n.as_str().into()).collect()
        };
        Ok(Self {
            namespaces,
            selector: LabelSelector::parse(t.label_selector.as_ref())?,
            topology_key: t.topology_key.as_str().into(),
            namespace_selector: LabelSelector::parse(t.namespace_selector.as_ref())?,
        })
    }

    /// Upstream `AffinityTerm.Matches`: the pod's namespace is named by the
    /// term or its labels (`ns_labels`) match the namespace selector, and the
    /// pod's labels match the selector.
    pub fn matches(&self, pod_namespace: &str, pod_labels: &Labels, ns_labels: &Labels) -> bool {
        (self.namespaces.iter().any(|n| &**n == pod_namespace)
            || self.namespace_selector.matches(ns_labels))
            && self.selector.matches(pod_labels)
    }
}

/// A preferred term with its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1..=100).
    pub weight: i64,
}

/// A pod's inter-pod affinity and anti-affinity terms. A category whose
/// terms fail to parse is left empty and the error kept (upstream's
/// `NewPodInfo` drops the category and reports the error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerms {
    /// `podAffinity.requiredDuringScheduling…`.
    pub required_affinity: Vec<AffinityTerm>,
    /// `podAntiAffinity.requiredDuringScheduling…`.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// `podAffinity.preferredDuringScheduling…`.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// `podAntiAffinity.preferredDuringScheduling…`.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    /// The first parse error, if any.
    pub parse_error: Option<String>,
}

impl PodAffinityTerms {
    pub(crate) fn parse(
        namespace: &str,
        affinity: Option<&RawPodAffinity>,
        anti: Option<&RawPodAffinity>,
    ) -> Self {
        let mut out = Self::default();
        let mut err = |e: String| {
            if out.parse_error.is_none() {
                out.parse_error = Some(e);
            }
        };
        let required = |a: Option<&RawPodAffinity>| -> Result<Vec<AffinityTerm>, String> {
            a.map(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .iter()
                    .map(|t| AffinityTerm::parse(namespace, t))
                    .collect()
            })
            .unwrap_or(Ok(Vec::new()))
        };
        let preferred = |a: Option<&RawPodAffinity>| -> Result<Vec<WeightedAffinityTerm>, String> {
            a.map(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .map(|w| {
                        Ok(WeightedAffinityTerm {
                            term: AffinityTerm::parse(namespace, &w.pod_affinity_term)?,
                            weight: i64::from(w.weight),
                        })
                    })
                    .collect()
            })
            .unwrap_or(Ok(Vec::new()))
        };
        let ra = required(affinity).unwrap_or_else(|e| {
            err(e);
            Vec::new()
        });
        let rn = required(anti).unwrap_or_else(|e| {
            err(e);
            Vec::new()
        });
        let pa = preferred(affinity).unwrap_or_else(|e| {
            err(e);
            Vec::new()
        });
        let pn = preferred(anti).unwrap_or_else(|e| {
            err(e);
            Vec::new()
        });
        let parse_error = out.parse_error.take();
        Self {
            required_affinity: ra,
            required_anti_affinity: rn,
            preferred_affinity: pa,
            preferred_anti_affinity: pn,
            parse_error,
        }
    }

    /// True when the pod has any term (upstream `PodsWithAffinity` membership).
    pub fn has_any(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }
}

/// `whenUnsatisfiable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenUnsatisfiable {
    /// `DoNotSchedule`: a Filter constraint.
    DoNotSchedule,
    /// `ScheduleAnyway`: a Score constraint.
    ScheduleAnyway,
    /// Anything else (invalid upstream): ignored.
    Other,
}

impl WhenUnsatisfiable {
    /// Parses the API string.
    pub fn parse(s: &str) -> Self {
        match s {
            "DoNotSchedule" => Self::DoNotSchedule,
            "ScheduleAnyway" => Self::ScheduleAnyway,
            _ => Self::Other,
        }
    }
}

/// A topology spread constraint (upstream `topologySpreadConstraint`), with
/// `matchLabelKeys` already merged into the selector and the defaults
/// applied (minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    /// `maxSkew`.
    pub max_skew: i32,
    /// `topologyKey`.
    pub topology_key: Box<str>,
    /// `whenUnsatisfiable`.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// The selector of the pods counted (matches nothing when it did not
    /// parse: see `selector_error`).
    pub selector: LabelSelector,
    /// Why `labelSelector` did not parse. Upstream parses a pod's selectors
    /// only for the constraints of the `whenUnsatisfiable` at hand, so the
    /// error fails only the extension point that needs this constraint
    /// (PreFilter for `DoNotSchedule`, PreScore for `ScheduleAnyway`).
    pub selector_error: Option<Box<str>>,
    /// `minDomains` (1 when absent).
    pub min_domains: i32,
    /// `nodeAffinityPolicy` is absent or exactly `Honor` (upstream: any
    /// other value set does not honour).
    pub honor_node_affinity: bool,
    /// `nodeTaintsPolicy` is exactly `Honor` (absent = Ignore).
    pub honor_node_taints: bool,
}

impl TopologySpreadConstraint {
    /// Parses a constraint; a `labelSelector` that does not parse is kept
    /// as `selector_error` (not an error of the whole pod).
    pub(crate) fn parse(c: &RawTopologySpreadConstraint, pod_labels: &Labels) -> Self {
        let (mut selector, selector_error) = match LabelSelector::parse(c.label_selector.as_ref()) {
            Ok(s) => (s, None),
            Err(e) => (LabelSelector::Nothing, Some(e.into())),
        };
        let keys: Vec<(&str, &str)> = c
            .match_label_keys
            .iter()
            .filter_map(|k| pod_labels.get(k).map(|v| (k.as_str(), v)))
            .collect();
        if selector_error.is_none() && !keys.is_empty() {
            selector = selector.merged_with_set(&Labels::from_pairs(keys));
        }
        Self {
            max_skew: c.max_skew,
            topology_key: c.topology_key.as_str().into(),
            when_unsatisfiable: WhenUnsatisfiable::parse(&c.when_unsatisfiable),
            selector,
            selector_error,
            min_domains: c.min_domains.unwrap_or(1),
            honor_node_affinity: c
                .node_affinity_policy
                .as_deref()
                .is_none_or(|p| p == "Honor"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }
}

/// A `metadata.ownerReferences` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerReference {
    /// `apiVersion`.
    pub api_version: Box<str>,
    /// `kind`.
    pub kind: Box<str>,
    /// `name`.
    pub name: Box<str>,
    /// `uid`.
    pub uid: Box<str>,
    /// `controller: true`.
    pub controller: bool,
}

impl OwnerReference {
    pub(crate) fn from_raw(r: &RawOwnerReference) -> Self {
        Self {
            api_version: r.api_version.as_str().into(),
            kind: r.kind.as_str().into(),
            name: r.name.as_str().into(),
            uid: r.uid.as_str().into(),
            controller: r.controller.unwrap_or(false),
        }
    }
}
