//! The plugin registry: plugin name → constructor from its args.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::interface::Plugin;

/// A plugin's `pluginConfig` args: the msgpack bytes of the args document
/// (KubeSchedulerConfiguration's `args`, camelCase keys), or none.
#[derive(Clone, Copy, Debug, Default)]
pub struct PluginArgs<'a>(pub Option<&'a [u8]>);

impl PluginArgs<'_> {
    /// Decodes the args into `T`, or `T::default()` when there are none.
    pub fn decode<T: DeserializeOwned + Default>(&self, plugin: &str) -> Result<T, ConfigError> {
        match self.0 {
            None => Ok(T::default()),
            Some(b) => {
                rmp_serde::from_slice(b).map_err(|e| ConfigError(format!("{plugin} args: {e}")))
            }
        }
    }
}

/// A bad profile or plugin configuration; names the offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Builds a plugin from its args.
pub type PluginFactory = fn(PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError>;

/// Name → factory. [`Registry::in_tree`] holds the plugins of this crate.
#[derive(Clone, Default)]
pub struct Registry {
    factories: HashMap<&'static str, PluginFactory>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` under `name`; an error if the name is taken.
    pub fn register(
        &mut self,
        name: &'static str,
        factory: PluginFactory,
    ) -> Result<(), ConfigError> {
        if self.factories.insert(name, factory).is_some() {
            return Err(ConfigError(format!("a plugin named {name} already exists")));
        }
        Ok(())
    }

    /// Builds plugin `name` from `args`.
    pub fn build(&self, name: &str, args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
        let f = self
            .factories
            .get(name)
            .ok_or_else(|| ConfigError(format!("plugin {name:?} does not exist")))?;
        f(args)
    }

    /// True when `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// The in-tree plugins (upstream `NewInTreeRegistry`).
    pub fn in_tree() -> Self {
        let mut r = Self::new();
        for (name, f) in crate::plugins::in_tree() {
            r.register(name, f).expect("unique in-tree plugin names");
        }
        r
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.factories.keys().collect();
        names.sort();
        f.debug_list().entries(names).finish()
    }
}
