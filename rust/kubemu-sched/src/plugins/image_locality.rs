//! ImageLocality: favours nodes that already have the pod's images, scaled
//! by how widely each image is spread:
//! `sum = Σ_images-on-node int64(size · numNodes/totalNodes)`, clamped to
//! `[23 MiB, 1000 MiB × #containers]` and mapped linearly to 0..=100
//! (integer). Containers include init containers; image names are
//! normalized with `:latest`, node image names are taken as reported.

use std::sync::Arc;

use crate::cache::{ImageId, NodeHot, NodeInfo};
use crate::framework::{
    ConfigError, CycleState, Plugin, PluginArgs, PreScorePlugin, ScorePlugin, Snapshot, Status,
    MAX_NODE_SCORE,
};
use crate::model::PodInfo;

pub use super::names::IMAGE_LOCALITY as NAME;

const MB: i64 = 1024 * 1024;
/// Sums below this score 0.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per-container cap of the sum.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

const STATE_KEY: &str = "PreScoreImageLocality";

/// Per-pod state: each container image's (id, size, numNodes) if any node
/// reports it, and the cluster's node count.
struct PreScoreState {
    images: Vec<Option<(ImageId, i64, u32)>>,
    total_nodes: usize,
}

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct ImageLocality;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(ImageLocality))
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for ImageLocality {
    /// Resolves the pod's images once (upstream does it per node).
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        _: &[&NodeInfo],
    ) -> Result<(), Status> {
        let images = pod
            .images
            .iter()
            .map(|name| {
                snap.image_id(name).map(|id| {
                    let st = snap.image_state(id);
                    (id, st.size, st.num_nodes)
                })
            })
            .collect();
        state.write(
            STATE_KEY,
            PreScoreState {
                images,
                total_nodes: snap.num_nodes(),
            },
        );
        Ok(())
    }
}

impl ScorePlugin for ImageLocality {
    /// No NormalizeScore.
    fn normalizes(&self) -> bool {
        false
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>(STATE_KEY)
            .ok_or_else(|| Status::error("ImageLocality: PreScore state missing"))?;
        if s.total_nodes == 0 {
            return Ok(0);
        }
        let mut sum = 0i64;
        for &(id, size, num) in s.images.iter().flatten() {
            if node.has_image(id) {
                sum += scaled_image_score(size, num, s.total_nodes);
            }
        }
        Ok(calculate_priority(sum, pod.num_containers()))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        hot: &[NodeHot],
        out: &mut Vec<i64>,
    ) -> Result<(), Status> {
        out.clear();
        let s = state
            .read::<PreScoreState>(STATE_KEY)
            .ok_or_else(|| Status::error("ImageLocality: PreScore state missing"))?;
        if s.total_nodes == 0 {
            out.resize(nodes.len(), 0);
            return Ok(());
        }
        // Each image's scaled score does not depend on the node.
        let scaled: smallvec::SmallVec<[(ImageId, i64); 4]> = s
            .images
            .iter()
            .flatten()
            .map(|&(id, size, num)| (id, scaled_image_score(size, num, s.total_nodes)))
            .collect();
        let containers = pod.num_containers();
        if scaled.len() <= 4 {
            // The score depends only on which of the (few) images the node
            // has: one priority per subset, looked up by bit mask.
            let mut table = [0i64; 16];
            for (mask, t) in table.iter_mut().enumerate().take(1 << scaled.len()) {
                let sum = scaled
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask & (1 << b) != 0)
                    .map(|(_, &(_, v))| v)
                    .sum();
                *t = calculate_priority(sum, containers);
            }
            let table = &table[..1 << scaled.len()];
            if table.iter().all(|&t| t == table[0]) {
                // The same score whichever images a node has (e.g. sums
                // below the threshold either way): no need to look.
                out.resize(nodes.len(), table[0]);
                return Ok(());
            }
            out.extend(nodes.iter().zip(hot).map(|(node, h)| {
                let mut mask = 0usize;
                for (b, &(id, _)) in scaled.iter().enumerate() {
                    if h.has_image(id).unwrap_or_else(|| node.has_image(id)) {
                        mask |= 1 << b;
                    }
                }
                table[mask]
            }));
            return Ok(());
        }
        out.extend(nodes.iter().zip(hot).map(|(node, h)| {
            let mut sum = 0i64;
            for &(id, v) in &scaled {
                if h.has_image(id).unwrap_or_else(|| node.has_image(id)) {
                    sum += v;
                }
            }
            calculate_priority(sum, containers)
        }));
        Ok(())
    }
}

/// `int64(size · numNodes/totalNodes)` (float, truncated).
pub fn scaled_image_score(size: i64, num_nodes: u32, total_nodes: usize) -> i64 {
    let spread = f64::from(num_nodes) / total_nodes as f64;
    (size as f64 * spread) as i64
}

/// Upstream `calculatePriority`.
pub fn calculate_priority(sum: i64, num_containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * num_containers as i64;
    if max <= MIN_THRESHOLD {
        return 0;
    }
    let s = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}
