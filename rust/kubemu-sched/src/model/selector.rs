//! Node selector terms (upstream `component-helpers/scheduling/corev1/nodeaffinity`).
//!
//! Terms are parsed once when the pod is decoded. A term that fails to parse
//! (an unknown operator, `In` without values, `Gt` with a non-integer, a
//! `matchFields` key other than `metadata.name`, ...) is dropped from a
//! required selector, as upstream's lazy-error selector does, and makes a
//! preferred list an error (upstream PreScore fails the pod).

use super::labels::Labels;
use super::raw::{RawRequirement, RawTerm};

/// A parsed `matchExpressions` / `matchFields` requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Value is one of the set (sorted).
    In(Box<str>, Vec<Box<str>>),
    /// Label absent, or value not in the set.
    NotIn(Box<str>, Vec<Box<str>>),
    /// Label present.
    Exists(Box<str>),
    /// Label absent.
    DoesNotExist(Box<str>),
    /// Label present, an integer, greater than the bound.
    Gt(Box<str>, i64),
    /// Label present, an integer, less than the bound.
    Lt(Box<str>, i64),
}

impl Requirement {
    pub(crate) fn parse(r: &RawRequirement) -> Result<Self, String> {
        let key: Box<str> = r.key.as_str().into();
        let values = || {
            let mut v: Vec<Box<str>> = r.values.iter().map(|s| s.as_str().into()).collect();
            v.sort();
            v
        };
        let int_bound = || -> Result<i64, String> {
            if r.values.len() != 1 {
                return Err(format!(
                    "for 'Gt', 'Lt' operators, exactly one value is required: {}",
                    r.key
                ));
            }
            r.values[0].parse::<i64>().map_err(|_| {
                format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer: {}",
                    r.values[0]
                )
            })
        };
        match r.operator.as_str() {
            "In" | "NotIn" if r.values.is_empty() => Err(format!(
                "for 'in', 'notin' operators, values set can't be empty: {}",
                r.key
            )),
            "In" => Ok(Self::In(key, values())),
            "NotIn" => Ok(Self::NotIn(key, values())),
            "Exists" | "DoesNotExist" if !r.values.is_empty() => Err(format!(
                "values set must be empty for exists and does not exist: {}",
                r.key
            )),
            "Exists" => Ok(Self::Exists(key)),
            "DoesNotExist" => Ok(Self::DoesNotExist(key)),
            "Gt" => Ok(Self::Gt(key, int_bound()?)),
            "Lt" => Ok(Self::Lt(key, int_bound()?)),
            op => Err(format!("{op:?} is not a valid label selector operator")),
        }
    }

    /// Upstream `labels.Requirement.Matches` against a label lookup.
    pub(crate) fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let in_set = |set: &[Box<str>], v: &str| set.binary_search_by(|s| (**s).cmp(v)).is_ok();
        match self {
            Self::In(k, set) => get(k).is_some_and(|v| in_set(set, v)),
            Self::NotIn(k, set) => !get(k).is_some_and(|v| in_set(set, v)),
            Self::Exists(k) => get(k).is_some(),
            Self::DoesNotExist(k) => get(k).is_none(),
            Self::Gt(k, b) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *b),
            Self::Lt(k, b) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *b),
        }
    }
}

/// One node selector term: label expressions and `metadata.name` field
/// requirements, all ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    /// `matchExpressions`.
    pub expressions: Vec<Requirement>,
    /// `matchFields` (key `metadata.name`, operator `In` or `NotIn`, one value).
    pub fields: Vec<Requirement>,
}

impl NodeSelectorTerm {
    /// Parses a term; `Ok(None)` for an empty term (which selects nothing).
    pub(crate) fn parse(t: &RawTerm) -> Result<Option<Self>, String> {
        if t.match_expressions.is_empty() && t.match_fields.is_empty() {
            return Ok(None);
        }
        let expressions = t
            .match_expressions
            .iter()
            .map(Requirement::parse)
            .collect::<Result<_, _>>()?;
        let fields = t
            .match_fields
            .iter()
            .map(|r| {
                if r.key != "metadata.name" {
                    return Err(format!("{:?} is not a valid field selector key", r.key));
                }
                if r.values.len() != 1 {
                    return Err("must have one element".to_string());
                }
                match r.operator.as_str() {
                    "In" | "NotIn" => Requirement::parse(r),
                    op => Err(format!("{op:?} is not a valid field selector operator")),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self {
            expressions,
            fields,
        }))
    }

    /// True when the node's labels and name satisfy every requirement.
    pub fn matches(&self, labels: &Labels, node_name: &str) -> bool {
        self.expressions
            .iter()
            .all(|r| r.matches(|k| labels.get(k)))
            && self
                .fields
                .iter()
                .all(|r| r.matches(|k| (k == "metadata.name").then_some(node_name)))
    }
}

/// A required node selector: terms ORed. Terms that failed to parse are
/// already dropped; with no terms left it matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelector {
    /// The valid, non-empty terms.
    pub terms: Vec<NodeSelectorTerm>,
    /// The raw term count (before dropping empty and invalid ones).
    pub raw_term_count: usize,
}

impl NodeSelector {
    pub(crate) fn parse(terms: &[RawTerm]) -> Self {
        Self {
            terms: terms
                .iter()
                .filter_map(|t| NodeSelectorTerm::parse(t).ok().flatten())
                .collect(),
            raw_term_count: terms.len(),
        }
    }

    /// True when some term matches.
    pub fn matches(&self, labels: &Labels, node_name: &str) -> bool {
        self.terms.iter().any(|t| t.matches(labels, node_name))
    }
}

/// A preferred scheduling term with its weight (non-zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferredTerm {
    /// Weight added to a node matching the term.
    pub weight: i64,
    /// The term.
    pub term: NodeSelectorTerm,
}

/// Upstream NodeAffinity PreFilter's node-name set, from the raw required
/// terms (invalid terms included, as upstream reads the API object): the
/// union over terms of the intersection of each term's `metadata.name In`
/// values. `None` when some term has no such requirement (all nodes are
/// eligible) or there are no terms; `Some(empty)` when the terms conflict.
pub(crate) fn prefilter_node_names(terms: &[RawTerm]) -> Option<Vec<Box<str>>> {
    if terms.is_empty() {
        return None;
    }
    let mut union: Vec<Box<str>> = Vec::new();
    for t in terms {
        let mut term_names: Option<Vec<Box<str>>> = None;
        for r in &t.match_fields {
            if r.key == "metadata.name" && r.operator == "In" {
                let s: Vec<Box<str>> = r.values.iter().map(|v| v.as_str().into()).collect();
                term_names = Some(match term_names {
                    None => s,
                    Some(prev) => prev.into_iter().filter(|n| s.contains(n)).collect(),
                });
            }
        }
        let names = term_names?;
        for n in names {
            if !union.contains(&n) {
                union.push(n);
            }
        }
    }
    union.sort();
    Some(union)
}
