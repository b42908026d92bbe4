//! The scheduling framework: extension points, statuses, cycle state, the
//! plugin registry and profiles. The engine that runs them is
//! [`crate::engine`]; the plugins are in [`crate::plugins`].

mod cycle_state;
mod handle;
mod interface;
mod profile;
mod registry;
mod status;

pub use cycle_state::{CycleState, StateData};
pub use handle::{Handle, NodeToStatus, PostFilterPlugin, PostFilterResult, SavedState};
pub use interface::HotAccept;
pub use interface::{
    default_normalize_score, FilterPlugin, Plugin, PodDeltaState, PreEnqueuePlugin,
    PreFilterExtensions, PreFilterPlugin, PreFilterResult, PreScorePlugin, QueueSortPlugin,
    QueuedPod, ReservePlugin, ScorePlugin, Snapshot, StateDelta, MAX_NODE_SCORE,
};
pub use profile::{PluginSpec, PointConfig, Profile, ProfileConfig, POINTS};
pub use registry::{ConfigError, PluginArgs, PluginFactory, Registry};
pub use status::{Code, Reason, Reasons, Status};
