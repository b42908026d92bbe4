//! kubemu-sched: kube-scheduler's filter-and-score core, in pure Rust.
//!
//! - [`model`]: nodes and pods decoded from the msgpack bytes of
//!   Kubernetes-shaped documents ([`Node::from_msgpack`],
//!   [`PodInfo::from_msgpack`]), with resource requests computed as upstream.
//! - [`cache`]: the node cache ([`Cache`]): per-node requested resources,
//!   pods, host ports and images, updated incrementally.
//! - [`framework`]: extension-point traits, statuses, cycle state, the plugin
//!   registry and profiles.
//! - [`plugins`]: one file per in-tree plugin of the default profile.
//! - [`engine`]: the scheduling loop ([`Scheduler::schedule_batch`]) with
//!   upstream's node sampling, round-robin start and seeded tie-break.
//!
//! No Python here: `kubemu-py` binds it.

pub mod affinity_index;
pub mod cache;
pub mod engine;
pub mod framework;
pub mod label_ids;
pub mod model;
pub mod nominator;
mod parallel;
pub mod pdb;
pub mod plugins;
pub mod quantity;
pub mod rand;
mod worker;

pub use cache::{Cache, NodeInfo};
pub use engine::{
    FitError, PostFilterOutcome, ScheduleError, ScheduleResult, Scheduler, SchedulerOptions,
};
pub use framework::{Code, Profile, Registry, Status};
pub use model::{DecodeError, Node, PodInfo, Resource};
