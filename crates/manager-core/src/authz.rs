//! Who may do what: the one place that decides. Every admin operation in
//! [`crate::service`] names the [`Capability`] it needs and asks
//! [`require`] (or [`require_instance`]); no handler decides on its own.
//!
//! Rights come from two places: a user's instance role (`admin` can do
//! everything; `member` nothing by itself) and their per-app role (`viewer`
//! < `editor` < `owner`), read from the database on every request, so a
//! removed role or a deleted user stops working at once.
//!
//! Visibility: a caller with no role in an app is told the app (or the
//! resource in it) does not exist, 404, never 403: outsiders cannot probe
//! for names. A caller with a role that is too small gets 403 `forbidden`.

use picloud_shared::AppId;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::repo::{User, UserRole};

/// A user's role in one app. Ordered: each role has every right of the
/// ones before it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AppRole {
    Viewer,
    Editor,
    Owner,
}

impl AppRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AppRole::Viewer => "viewer",
            AppRole::Editor => "editor",
            AppRole::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(AppRole::Viewer),
            "editor" => Some(AppRole::Editor),
            "owner" => Some(AppRole::Owner),
            _ => None,
        }
    }
}

/// Something a caller may want to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// See the app itself (`GET /apps/{id}`, listed in `GET /apps`).
    ReadApp,
    ReadScripts,
    WriteScripts,
    ReadExecutions,
    ReadRoutes,
    WriteRoutes,
    ReadKv,
    WriteKv,
    ReadTriggers,
    WriteTriggers,
    /// The names of an app's secrets (never their values).
    ReadSecrets,
    WriteSecrets,
    ReadDomains,
    ManageDomains,
    ReadMembers,
    ManageMembers,
    ReadAudit,
    DeleteApp,
    /// Instance-wide: create apps.
    CreateApp,
    /// Instance-wide: create, list and delete users.
    ManageUsers,
    /// Instance-wide: the audit log of everything.
    ReadInstanceAudit,
}

/// What a capability needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// At least this role in the app (instance admins always pass).
    Role(AppRole),
    /// An instance admin.
    InstanceAdmin,
}

impl Capability {
    /// Every capability, for the role matrix's tests.
    #[cfg(test)]
    pub const ALL: [Capability; 21] = [
        Capability::ReadApp,
        Capability::ReadScripts,
        Capability::WriteScripts,
        Capability::ReadExecutions,
        Capability::ReadRoutes,
        Capability::WriteRoutes,
        Capability::ReadKv,
        Capability::WriteKv,
        Capability::ReadTriggers,
        Capability::WriteTriggers,
        Capability::ReadSecrets,
        Capability::WriteSecrets,
        Capability::ReadDomains,
        Capability::ManageDomains,
        Capability::ReadMembers,
        Capability::ManageMembers,
        Capability::ReadAudit,
        Capability::DeleteApp,
        Capability::CreateApp,
        Capability::ManageUsers,
        Capability::ReadInstanceAudit,
    ];

    /// The rule: the whole role matrix is this match.
    pub fn needs(self) -> Need {
        use Capability::*;
        match self {
            ReadApp | ReadScripts | ReadExecutions | ReadRoutes | ReadKv | ReadTriggers
            | ReadSecrets | ReadDomains | ReadMembers => Need::Role(AppRole::Viewer),
            WriteScripts | WriteRoutes | WriteKv | WriteTriggers | WriteSecrets => {
                Need::Role(AppRole::Editor)
            }
            ManageDomains | ManageMembers | ReadAudit | DeleteApp => Need::Role(AppRole::Owner),
            CreateApp | ManageUsers | ReadInstanceAudit => Need::InstanceAdmin,
        }
    }

    /// Says what the capability is, for error messages.
    pub fn describe(self) -> &'static str {
        use Capability::*;
        match self {
            ReadApp => "seeing this app",
            ReadScripts => "reading scripts",
            WriteScripts => "changing scripts",
            ReadExecutions => "reading executions",
            ReadRoutes => "reading routes",
            WriteRoutes => "changing routes",
            ReadKv => "reading the key-value store",
            WriteKv => "changing the key-value store",
            ReadTriggers => "reading triggers",
            WriteTriggers => "changing triggers",
            ReadSecrets => "listing secrets",
            WriteSecrets => "setting and deleting secrets",
            ReadDomains => "reading domain claims",
            ManageDomains => "claiming and releasing domains",
            ReadMembers => "listing members",
            ManageMembers => "managing members",
            ReadAudit => "reading the audit log",
            DeleteApp => "deleting the app",
            CreateApp => "creating apps",
            ManageUsers => "managing users",
            ReadInstanceAudit => "reading the whole audit log",
        }
    }
}

/// A role a user holds in an app.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub app_id: AppId,
    /// The app's name.
    pub app: String,
    pub role: AppRole,
}

/// An authenticated user with their rights as of this request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub grants: Vec<Grant>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user.role == UserRole::Admin
    }

    pub fn role_in(&self, app: AppId) -> Option<AppRole> {
        self.grants.iter().find(|g| g.app_id == app).map(|g| g.role)
    }
}

/// May `p` do `cap` in `app`? (`app` is ignored for instance-wide
/// capabilities.)
pub fn can(p: &Principal, cap: Capability, app: AppId) -> bool {
    if p.is_admin() {
        return true;
    }
    match cap.needs() {
        Need::InstanceAdmin => false,
        Need::Role(min) => p.role_in(app).is_some_and(|r| r >= min),
    }
}

/// Requires `cap` in `app`. No role in the app → `NotFound(what)`, as if
/// the `what` (the app, or the script, route... in it) did not exist; a
/// role too small → `Forbidden`.
pub fn require(p: &Principal, cap: Capability, app: AppId, what: &'static str) -> Result<()> {
    if can(p, cap, app) {
        return Ok(());
    }
    match (cap.needs(), p.role_in(app)) {
        (Need::Role(min), Some(role)) => Err(Error::Forbidden(format!(
            "{} needs the {} role in this app; yours is {}",
            cap.describe(),
            min.as_str(),
            role.as_str()
        ))),
        (Need::InstanceAdmin, Some(_)) => Err(Error::Forbidden(format!(
            "{} is for instance admins",
            cap.describe()
        ))),
        (_, None) => Err(Error::NotFound(what)),
    }
}

/// May `p` do the instance-wide `cap`?
pub fn can_instance(p: &Principal, cap: Capability) -> bool {
    debug_assert_eq!(cap.needs(), Need::InstanceAdmin, "{cap:?} is app-scoped");
    p.is_admin()
}

/// Requires an instance-wide capability (403 otherwise: the caller knows
/// the endpoint exists).
pub fn require_instance(p: &Principal, cap: Capability) -> Result<()> {
    if can_instance(p, cap) {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{} is for instance admins",
        cap.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use picloud_shared::UserId;

    fn principal(role: UserRole, grants: &[(AppId, AppRole)]) -> Principal {
        Principal {
            user: User {
                id: UserId::new(),
                username: "u".into(),
                role,
                created_at: crate::repo::now(),
            },
            grants: grants
                .iter()
                .map(|&(app_id, role)| Grant {
                    app_id,
                    app: "a".into(),
                    role,
                })
                .collect(),
        }
    }

    #[test]
    fn roles_are_ordered_and_each_includes_the_ones_below() {
        let app = AppId::new();
        for cap in Capability::ALL {
            let granted: Vec<bool> = [AppRole::Viewer, AppRole::Editor, AppRole::Owner]
                .iter()
                .map(|&r| can(&principal(UserRole::Member, &[(app, r)]), cap, app))
                .collect();
            // Monotone: once a role may, every higher role may.
            assert!(
                granted.windows(2).all(|w| !w[0] || w[1]),
                "{cap:?}: {granted:?}"
            );
            let expected = match cap.needs() {
                Need::Role(AppRole::Viewer) => [true, true, true],
                Need::Role(AppRole::Editor) => [false, true, true],
                Need::Role(AppRole::Owner) => [false, false, true],
                Need::InstanceAdmin => [false, false, false],
            };
            assert_eq!(granted, expected, "{cap:?}");
        }
    }

    #[test]
    fn instance_admins_can_everything_and_outsiders_nothing() {
        let app = AppId::new();
        let admin = principal(UserRole::Admin, &[]);
        let outsider = principal(UserRole::Member, &[(AppId::new(), AppRole::Owner)]);
        for cap in Capability::ALL {
            assert!(can(&admin, cap, app), "{cap:?}");
            assert!(!can(&outsider, cap, app), "{cap:?}");
            assert!(matches!(
                require(&outsider, cap, app, "app"),
                Err(Error::NotFound("app"))
            ));
        }
        assert!(require_instance(&admin, Capability::ManageUsers).is_ok());
        assert!(matches!(
            require_instance(&outsider, Capability::ManageUsers),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn a_small_role_is_forbidden_not_hidden() {
        let app = AppId::new();
        let viewer = principal(UserRole::Member, &[(app, AppRole::Viewer)]);
        assert!(require(&viewer, Capability::ReadScripts, app, "script").is_ok());
        let err = require(&viewer, Capability::WriteScripts, app, "script").unwrap_err();
        assert!(
            matches!(&err, Error::Forbidden(m) if m.contains("editor") && m.contains("viewer")),
            "{err:?}"
        );
    }

    #[test]
    fn role_names_parse_and_print_alike() {
        for r in [AppRole::Viewer, AppRole::Editor, AppRole::Owner] {
            assert_eq!(AppRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(AppRole::parse("admin"), None);
        assert_eq!(AppRole::parse("Owner"), None);
    }
}
