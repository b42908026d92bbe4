//! A node as the scheduler sees it.

use super::labels::Labels;
use super::raw::RawNode;
use super::resource::{Resource, ResourceList};
use super::taint::{Taint, TaintEffect};
use super::DecodeError;

/// One entry of `status.images`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// `names` as reported (not normalized, as upstream).
    pub names: Vec<Box<str>>,
    /// `sizeBytes`.
    pub size_bytes: i64,
}

/// A node decoded for scheduling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// `metadata.name`.
    pub name: Box<str>,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
    /// `status.allocatable`, rounded as upstream `Resource.Add`.
    pub allocatable: Resource,
    /// `status.images`.
    pub images: Vec<ImageSummary>,
}

impl Node {
    /// Decodes a node document (msgpack map of the Kubernetes JSON shape).
    pub fn from_msgpack(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: RawNode = rmp_serde::from_slice(bytes)?;
        if raw.metadata.name.is_empty() {
            return Err(DecodeError("node has no metadata.name".into()));
        }
        let mut allocatable = Resource::default();
        allocatable.add_list(&ResourceList(
            raw.status
                .allocatable
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.0))
                .collect(),
        ));
        Ok(Self {
            name: raw.metadata.name.as_str().into(),
            labels: Labels::from_pairs(
                raw.metadata
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            unschedulable: raw.spec.unschedulable,
            taints: raw
                .spec
                .taints
                .iter()
                .map(|t| Taint {
                    key: t.key.as_str().into(),
                    value: t.value.as_str().into(),
                    effect: TaintEffect::parse(&t.effect),
                })
                .collect(),
            allocatable,
            images: raw
                .status
                .images
                .iter()
                .map(|i| ImageSummary {
                    names: i.names.iter().map(|n| n.as_str().into()).collect(),
                    size_bytes: i.size_bytes,
                })
                .collect(),
        })
    }

    /// Upstream `utilnode.GetZoneKey`: `region + ":\0:" + zone` from the
    /// topology labels (falling back to the beta failure-domain ones), or
    /// empty when both are empty.
    pub fn zone_key(&self) -> String {
        let l = &self.labels;
        let zone = l
            .get("topology.kubernetes.io/zone")
            .or_else(|| l.get("failure-domain.beta.kubernetes.io/zone"))
            .unwrap_or("");
        let region = l
            .get("topology.kubernetes.io/region")
            .or_else(|| l.get("failure-domain.beta.kubernetes.io/region"))
            .unwrap_or("");
        if region.is_empty() && zone.is_empty() {
            String::new()
        } else {
            format!("{region}:\0:{zone}")
        }
    }
}
