//! Who may see and touch which cases: the access scope of each role. Pure, so the store's SQL
//! filter, the use cases, the web pages and the live-event filter apply one rule.

use crate::model::Role;
use uuid::Uuid;

/// Which cases a caller may see. Tokens without a user see role-wide (`All`, or every forwarded
/// case for a department token); users see their teams' cases or their department's.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum CaseScope {
    #[default]
    All,
    /// Cases of these teams, and cases assigned to `assignee`.
    Teams {
        teams: Vec<String>,
        assignee: String,
    },
    /// Cases forwarded (status `forwarded`) to this department; `None`: to any department.
    Department(Option<Uuid>),
}

/// What the scope rule reads of a case (or of an event about one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeFacts<'a> {
    pub team: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub department_id: Option<Uuid>,
    /// With a department now: a case `forwarded`; an event, when it names a department.
    pub with_department: bool,
}

/// Anything the scope rule can be applied to: it says its [`ScopeFacts`].
pub trait Scoped {
    fn scope_facts(&self) -> ScopeFacts<'_>;
}

impl Scoped for ScopeFacts<'_> {
    fn scope_facts(&self) -> ScopeFacts<'_> {
        *self
    }
}

/// A desk user, as far as the scope needs them.
#[derive(Debug, Clone, Copy)]
pub struct ScopeUser<'a> {
    pub id: Uuid,
    pub teams: &'a [String],
    pub department_id: Option<Uuid>,
}

impl CaseScope {
    /// The scope of a caller with `role`, acting as `user` (`None`: a token without a user).
    /// Agents with a user see their teams' cases and their own; department users only what is
    /// forwarded to their department; tokens without a user see role-wide (a department token:
    /// every forwarded case).
    pub fn of(role: Role, user: Option<ScopeUser<'_>>) -> CaseScope {
        match (role, user) {
            // A department user without a department sees nothing: a department that cannot
            // exist.
            (Role::Department, Some(u)) => {
                CaseScope::Department(Some(u.department_id.unwrap_or(Uuid::nil())))
            }
            (Role::Department, None) => CaseScope::Department(None),
            (Role::Agent, Some(u)) => CaseScope::Teams {
                teams: u.teams.to_vec(),
                assignee: u.id.to_string(),
            },
            _ => CaseScope::All,
        }
    }

    /// The same rule as the store's SQL filter, for one case or event.
    pub fn allows(&self, c: &impl Scoped) -> bool {
        let c = c.scope_facts();
        match self {
            CaseScope::All => true,
            CaseScope::Teams { teams, assignee } => {
                c.assignee == Some(assignee.as_str())
                    || c.team.is_some_and(|t| teams.iter().any(|x| x == t))
            }
            CaseScope::Department(d) => {
                c.with_department && d.is_none_or(|d| c.department_id == Some(d))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case<'a>(
        team: Option<&'a str>,
        assignee: Option<&'a str>,
        dept: Option<Uuid>,
        fwd: bool,
    ) -> ScopeFacts<'a> {
        ScopeFacts {
            team,
            assignee,
            department_id: dept,
            with_department: fwd,
        }
    }

    #[test]
    fn an_agent_sees_their_teams_and_their_own_cases() {
        let me = Uuid::now_v7();
        let teams = vec!["social".to_owned()];
        let user = ScopeUser {
            id: me,
            teams: &teams,
            department_id: None,
        };
        let s = CaseScope::of(Role::Agent, Some(user));
        assert!(s.allows(&case(Some("social"), None, None, false)));
        assert!(s.allows(&case(Some("other"), Some(&me.to_string()), None, false)));
        assert!(!s.allows(&case(Some("other"), Some("someone"), None, false)));
        assert!(!s.allows(&case(None, None, None, false)));
    }

    #[test]
    fn a_department_sees_only_what_is_forwarded_to_it() {
        let d = Uuid::now_v7();
        let user = ScopeUser {
            id: Uuid::now_v7(),
            teams: &[],
            department_id: Some(d),
        };
        let s = CaseScope::of(Role::Department, Some(user));
        assert!(s.allows(&case(None, None, Some(d), true)));
        assert!(
            !s.allows(&case(None, None, Some(d), false)),
            "no longer forwarded"
        );
        assert!(!s.allows(&case(None, None, Some(Uuid::now_v7()), true)));
        // Without a department: nothing.
        let none = CaseScope::of(
            Role::Department,
            Some(ScopeUser {
                department_id: None,
                ..user
            }),
        );
        assert!(!none.allows(&case(None, None, Some(d), true)));
        // A department token: every forwarded case.
        let token = CaseScope::of(Role::Department, None);
        assert!(token.allows(&case(None, None, Some(d), true)));
        assert!(!token.allows(&case(None, None, Some(d), false)));
    }

    #[test]
    fn leads_admins_integrations_and_agent_tokens_see_everything() {
        for role in [Role::Teamlead, Role::Admin, Role::Integration] {
            assert_eq!(CaseScope::of(role, None), CaseScope::All);
        }
        assert_eq!(CaseScope::of(Role::Agent, None), CaseScope::All);
    }
}
