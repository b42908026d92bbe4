//! Per-pod scheduling-cycle state (upstream `CycleState`): data a plugin
//! computes in PreFilter/PreScore and reads in Filter/Score, keyed by a
//! string (by convention `"PreFilter" + plugin name`).

use std::any::Any;

/// A value stored in [`CycleState`].
pub trait StateData: Any + Send + Sync {
    /// Upcast for typed reads.
    fn as_any(&self) -> &dyn Any;
    /// Upcast for typed updates.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Send + Sync> StateData for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The state of one pod's scheduling cycle. Created empty per pod; written
/// during PreFilter/PreScore (`&mut`), read during Filter/Score (`&`, possibly
/// from several threads). Plugins are trusted: no protection between them.
#[derive(Default)]
pub struct CycleState {
    entries: Vec<(&'static str, Box<dyn StateData>)>,
}

impl CycleState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        let boxed: Box<dyn StateData> = Box::new(value);
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = boxed,
            None => self.entries.push((key, boxed)),
        }
    }

    /// Stores an already boxed value under `key`, replacing any previous
    /// value (restoring a saved PreFilter state).
    pub fn write_boxed(&mut self, key: &'static str, value: Box<dyn StateData>) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value under `key` if present and of type `T`.
    pub fn read<T: 'static>(&self, key: &str) -> Option<&T> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any().downcast_ref::<T>())
    }

    /// The value under `key` for update, if present and of type `T`.
    pub fn read_mut<T: 'static>(&mut self, key: &str) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut::<T>())
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str) {
        self.entries.retain(|(k, _)| *k != key);
    }
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(k, _)| k))
            .finish()
    }
}
