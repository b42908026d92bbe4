//! Taints and tolerations (upstream `v1.Taint`, `v1.Toleration.ToleratesTaint`).

/// A taint's effect. Unknown strings are kept as [`TaintEffect::Other`] and
/// match only a toleration with no effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaintEffect {
    /// `NoSchedule`.
    NoSchedule,
    /// `PreferNoSchedule`.
    PreferNoSchedule,
    /// `NoExecute`.
    NoExecute,
    /// Any other string (invalid upstream).
    Other(Box<str>),
}

impl TaintEffect {
    /// Parses the API string.
    pub fn parse(s: &str) -> Self {
        match s {
            "NoSchedule" => Self::NoSchedule,
            "PreferNoSchedule" => Self::PreferNoSchedule,
            "NoExecute" => Self::NoExecute,
            other => Self::Other(other.into()),
        }
    }
}

/// A node taint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    /// Taint key.
    pub key: Box<str>,
    /// Taint value (may be empty).
    pub value: Box<str>,
    /// Effect.
    pub effect: TaintEffect,
}

/// A toleration's operator; the empty string means `Equal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOperator {
    /// `Equal` or empty: values must be equal.
    Equal,
    /// `Exists`: any value.
    Exists,
    /// Any other string: tolerates nothing.
    Invalid,
}

/// A pod toleration. An empty `effect` is `None` (matches every effect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    /// Key; empty matches every key.
    pub key: Box<str>,
    /// Operator.
    pub operator: TolerationOperator,
    /// Value compared under `Equal`.
    pub value: Box<str>,
    /// Effect; `None` matches all.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// Upstream `ToleratesTaint`: the effect (if set) and the key (if set)
    /// must be equal; then `Exists` matches any value and `Equal` requires
    /// equal values. (With an empty key and `Equal`, which validation forbids,
    /// only the value is compared, as upstream does.)
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(e) = &self.effect {
            if *e != taint.effect {
                return false;
            }
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Equal => self.value == taint.value,
            TolerationOperator::Exists => true,
            TolerationOperator::Invalid => false,
        }
    }
}

/// True when some toleration tolerates `taint` (upstream `TolerationsTolerateTaint`).
pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| t.tolerates(taint))
}

pub(crate) fn parse_operator(s: &str) -> TolerationOperator {
    match s {
        "" | "Equal" => TolerationOperator::Equal,
        "Exists" => TolerationOperator::Exists,
        _ => TolerationOperator::Invalid,
    }
}
