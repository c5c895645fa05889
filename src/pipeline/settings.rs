//! What the pipeline derives from the configuration: each desk with its tag
//! matcher, every address of this installation, the templates. Replaced
//! whole on reload (SIGHUP), so a batch sees one consistent set.

use std::time::Duration;

use crate::config::{Config, DeskConfig};
use crate::mail::subject::TagMatcher;
use crate::outgoing::templates::Templates;

/// A desk as the pipeline sees it.
#[derive(Debug, Clone)]
pub struct DeskRuntime {
    pub cfg: DeskConfig,
    pub tags: TagMatcher,
}

impl DeskRuntime {
    pub fn new(cfg: &DeskConfig) -> DeskRuntime {
        DeskRuntime {
            cfg: cfg.clone(),
            tags: TagMatcher::new(&cfg.tag),
        }
    }
}

#[derive(Debug)]
pub struct Settings {
    /// In the order the configuration lists them (the first listed desk
    /// handles mail sent to several).
    pub desks: Vec<DeskRuntime>,
    /// Every desk address, alias and comment address, lowercase.
    pub own_addresses: Vec<String>,
    pub templates: Templates,
    /// How long queued mail may wait for the relay.
    pub expire_after: Duration,
}

impl Settings {
    pub fn new(config: &Config, templates: Templates) -> Settings {
        Settings {
            desks: config.desks.iter().map(DeskRuntime::new).collect(),
            own_addresses: config
                .desks
                .iter()
                .flat_map(|d| d.addresses.iter().cloned().chain(d.comment_address.clone()))
                .collect(),
            templates,
            expire_after: config.outbox.expire_after,
        }
    }

    pub fn desk(&self, name: &str) -> Option<&DeskRuntime> {
        self.desks.iter().find(|d| d.cfg.name == name)
    }
}
