//! Plugin results (upstream `fwk.Status`).

use std::borrow::Cow;
use std::fmt;

/// A failure reason: static for fixed upstream strings, owned when formatted.
pub type Reason = Cow<'static, str>;

/// A status's reasons: one is kept inline (the common case; a filter loop
/// rejecting thousands of nodes allocates nothing for them).
pub type Reasons = smallvec::SmallVec<[Reason; 1]>;

/// A status code. Success is `Ok(..)` in the plugin signatures; these are the
/// other outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The pod does not fit this node now; preemption may help.
    Unschedulable,
    /// The pod cannot fit this node whatever is evicted; preemption skips it.
    UnschedulableAndUnresolvable,
    /// An internal error: fails the pod's attempt (not just this node).
    Error,
    /// PreFilter/PreScore only: the plugin has nothing to do for this pod;
    /// its Filter/Score is not run. Not a failure.
    Skip,
}

/// A non-success plugin result: a code, reasons (upstream's strings, shown in
/// FitError messages) and the plugin that returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub code: Code,
    /// Reasons, in order; a node's reasons are counted in the FitError histogram.
    pub reasons: Reasons,
    /// The plugin's name, filled in by the engine.
    pub plugin: &'static str,
}

impl Status {
    /// A status with one reason.
    pub fn new(code: Code, reason: impl Into<Reason>) -> Self {
        Self {
            code,
            reasons: smallvec::smallvec![reason.into()],
            plugin: "",
        }
    }

    /// `Unschedulable` with one reason.
    pub fn unschedulable(reason: impl Into<Reason>) -> Self {
        Self::new(Code::Unschedulable, reason)
    }

    /// `UnschedulableAndUnresolvable` with one reason.
    pub fn unresolvable(reason: impl Into<Reason>) -> Self {
        Self::new(Code::UnschedulableAndUnresolvable, reason)
    }

    /// `Error` with a message.
    pub fn error(msg: impl Into<Reason>) -> Self {
        Self::new(Code::Error, msg)
    }

    /// `Skip` (no reasons).
    pub fn skip() -> Self {
        Self {
            code: Code::Skip,
            reasons: Reasons::new(),
            plugin: "",
        }
    }

    /// True for the two unschedulable codes (upstream `IsRejected`).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    /// The reasons joined by ", " (upstream `Message`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }

    /// Sets the plugin name.
    #[must_use]
    pub fn with_plugin(mut self, plugin: &'static str) -> Self {
        self.plugin = plugin;
        self
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message())
    }
}
