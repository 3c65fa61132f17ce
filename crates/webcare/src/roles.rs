//! What a process of a multi-node desk does (DESIGN 12): `webcare serve --roles api,sla`. Every
//! worker takes its work under a database lease or a row claim, so any number of nodes may run
//! any role and each effect still happens once; a role that no node runs simply waits (replies
//! queue in the outbox, alerts in their timers) until one does.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One role of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The REST API, the web app and the platforms' webhooks (which journal a delivery and
    /// ingest it at once).
    Api,
    /// The journal sweep: deliveries a node accepted but did not finish (it died), after their
    /// lease.
    Ingest,
    /// SLA timers: warnings, breaches and their notifications.
    Sla,
    /// Sending replies to the platforms.
    Outbox,
    /// Polling the platforms that are polled (X mentions and DMs).
    Pollers,
    /// Delivering the desk's events to subscribed webhooks.
    Webhooks,
    /// Anonymising what has passed its retention term (off-hours, once across nodes).
    Retention,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Api,
        Role::Ingest,
        Role::Sla,
        Role::Outbox,
        Role::Pollers,
        Role::Webhooks,
        Role::Retention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Ingest => "ingest",
            Role::Sla => "sla",
            Role::Outbox => "outbox",
            Role::Pollers => "pollers",
            Role::Webhooks => "webhooks",
            Role::Retention => "retention",
        }
    }
}

/// The roles of a process: `all` (the default: one node does everything) or a comma-separated
/// list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    pub fn all() -> Roles {
        Roles(Role::ALL.into_iter().collect())
    }

    pub fn has(&self, r: Role) -> bool {
        self.0.contains(&r)
    }
}

impl Default for Roles {
    fn default() -> Self {
        Roles::all()
    }
}

impl FromStr for Roles {
    type Err = String;

    fn from_str(s: &str) -> Result<Roles, String> {
        let mut set = BTreeSet::new();
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word.eq_ignore_ascii_case("all") {
                set.extend(Role::ALL);
                continue;
            }
            let role = Role::ALL
                .into_iter()
                .find(|r| r.as_str().eq_ignore_ascii_case(word))
                .ok_or_else(|| {
                    let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                    format!(
                        "unknown role '{word}': use all or any of {}",
                        known.join(", ")
                    )
                })?;
            set.insert(role);
        }
        if set.is_empty() {
            return Err(
                "no role given: use all or any of api, ingest, sla, outbox, pollers, webhooks, retention"
                    .into(),
            );
        }
        Ok(Roles(set))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&words.join(","))
    }
}

impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Roles {
    /// `"api,sla"` (an environment variable) or `["api", "sla"]` (TOML).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Roles, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let text = match Form::deserialize(d)? {
            Form::One(s) => s,
            Form::Many(v) => v.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_as_operators_write_them() {
        assert_eq!("all".parse::<Roles>().unwrap(), Roles::all());
        let r: Roles = " api, SLA ,outbox".parse().unwrap();
        assert!(r.has(Role::Api) && r.has(Role::Sla) && r.has(Role::Outbox));
        assert!(!r.has(Role::Pollers) && !r.has(Role::Webhooks) && !r.has(Role::Ingest));
        assert_eq!(r.to_string(), "api,sla,outbox");
        let e = "api,retentie".parse::<Roles>().unwrap_err();
        assert!(e.contains("unknown role 'retentie'"), "{e}");
        assert!(Roles::all().has(Role::Retention));
        assert!("retention".parse::<Roles>().unwrap().has(Role::Retention));
        assert!(" , ".parse::<Roles>().is_err());
        let from_toml: Roles =
            serde_json::from_value(serde_json::json!(["webhooks", "ingest"])).unwrap();
        assert_eq!(from_toml.to_string(), "ingest,webhooks");
    }
}
