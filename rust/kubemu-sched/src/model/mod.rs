//! What the scheduler knows about nodes and pods, decoded from the msgpack
//! bytes of Kubernetes-shaped documents (the apiserver's storage format).
//!
//! Decoding reads only the fields the scheduler uses; unknown fields are
//! skipped, `nil` reads as absent, and a field of the wrong type or a
//! malformed quantity is a [`DecodeError`] (never a panic).

mod labels;
mod node;
mod pod;
mod pod_terms;
pub(crate) mod raw;
mod resource;
mod selector;
mod taint;
mod time;

pub use labels::Labels;
pub use node::{ImageSummary, Node};
pub use pod::{HostPort, PodInfo, BIND_ALL_HOST_IP, DEFAULT_SCHEDULER_NAME};
pub use pod_terms::{
    AffinityTerm, LabelSelector, OwnerReference, PodAffinityTerms, TopologySpreadConstraint,
    WeightedAffinityTerm, WhenUnsatisfiable,
};
pub use resource::{
    is_scalar_resource_name, NonZero, Resource, ResourceList, DEFAULT_MEMORY_REQUEST,
    DEFAULT_MILLI_CPU_REQUEST,
};
pub use selector::{NodeSelector, NodeSelectorTerm, PreferredTerm, Requirement};
pub use taint::{tolerations_tolerate, Taint, TaintEffect, Toleration, TolerationOperator};
pub use time::parse_rfc3339_nanos;

use std::fmt;

/// Bytes that are not a document of the expected shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decode object: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<rmp_serde::decode::Error> for DecodeError {
    fn from(e: rmp_serde::decode::Error) -> Self {
        Self(e.to_string())
    }
}
