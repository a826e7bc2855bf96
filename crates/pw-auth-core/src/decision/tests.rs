//! The decision's unit tests.

use super::*;
use crate::id::CompanyId;
use crate::principal::testing::{EXPIRES_AT, NOW, principal};
use crate::role::{Level, Role};
use crate::user::UserRecord;

fn company(s: &str) -> CompanyId {
    CompanyId::new(s).unwrap()
}

fn bearer(role: Role, home: &str) -> Principal {
    principal(role, &company(home))
}

#[test]
fn the_seed_cases() {
    let p = Policy::default_policy();
    let acme = company("acme");
    let req = |a| Request::new(a, &acme, Tier::Professional);
    let admin = bearer(Role::Administrator, "acme");
    let key = principal(Role::ApiUser, &acme);
    assert!(authorize(&p, &admin, &req("blueprints.build"), NOW).is_allowed());
    assert_eq!(
        authorize(&p, &key, &req("blueprints.build"), NOW).reason(),
        Reason::AdministratorOnly {
            role: Role::ApiUser
        }
    );
    assert!(authorize(&p, &key, &req("flows.create"), NOW).is_allowed());
}

#[test]
fn an_expired_bearer_is_denied_whatever_it_asks() {
    let p = Policy::default_policy();
    let acme = company("acme");
    let admin = bearer(Role::Administrator, "acme");
    let publish = Request::new("blueprints.publish", &acme, Tier::Enterprise);
    let nonsense = Request::new("no.such-action", &acme, Tier::Enterprise);
    let one_ns = time::Duration::nanoseconds(1);
    assert!(authorize(&p, &admin, &publish, EXPIRES_AT - one_ns).is_allowed());
    let expired = Reason::CredentialExpired { at: EXPIRES_AT };
    for now in [
        EXPIRES_AT,
        EXPIRES_AT + one_ns,
        EXPIRES_AT + time::Duration::days(365),
    ] {
        assert_eq!(authorize(&p, &admin, &publish, now).reason(), expired);
        assert_eq!(authorize(&p, &admin, &nonsense, now).reason(), expired);
    }
    // An API key never expires.
    let key = principal(Role::ApiUser, &acme);
    let deploy = Request::new("flows.deploy", &acme, Tier::Enterprise);
    assert!(authorize(&p, &key, &deploy, EXPIRES_AT + time::Duration::days(365)).is_allowed());

    let bob = UserRecord::active(crate::id::UserId::new("bob").unwrap(), acme, Role::User);
    let change = RoleChange::new(&bob, Role::ReadOnly);
    assert!(authorize_role_change(&admin, &change, EXPIRES_AT - one_ns).is_allowed());
    assert_eq!(
        authorize_role_change(&admin, &change, EXPIRES_AT).reason(),
        RoleChangeReason::CredentialExpired { at: EXPIRES_AT }
    );
}

#[test]
fn every_deny_reason() {
    let p = Policy::default_policy();
    let acme = company("acme");
    let child = company("acme-eu");
    let grants = [child.clone()];
    let manager = bearer(Role::Manager, "acme");
    let user = bearer(Role::User, "acme");
    let d = |who: &Principal, r: Request<'_>| authorize(&p, who, &r, NOW).reason();
    let pro = Tier::Professional;
    let linked = |a| {
        Request::new(a, &child, pro)
            .with_parent(&acme)
            .with_grants(&grants)
    };

    assert_eq!(
        d(&manager, Request::new("flows.fly", &acme, pro)),
        Reason::UnknownAction
    );
    assert_eq!(
        d(&manager, Request::new("flows.view", &child, pro)),
        Reason::OtherCompany
    );
    assert_eq!(
        d(
            &manager,
            Request::new("flows.view", &child, pro).with_parent(&acme)
        ),
        Reason::MissingGrant
    );
    assert_eq!(
        d(&user, linked("flows.view")),
        Reason::LinkedRoleTooLow { role: Role::User }
    );
    assert_eq!(
        d(&principal(Role::ApiUser, &acme), linked("flows.view")),
        Reason::ApiUserOwnCompanyOnly
    );
    assert_eq!(
        d(
            &manager,
            Request::new("linked-companies.switch", &acme, pro)
        ),
        Reason::GrantRequired
    );
    assert_eq!(
        d(
            &bearer(Role::Administrator, "acme"),
            linked("company.delete")
        ),
        Reason::OwnCompanyOnly
    );
    assert_eq!(
        d(
            &bearer(Role::Administrator, "acme"),
            Request::new("users.create-administrator", &acme, pro)
        ),
        Reason::PlatformSupportOnly
    );
    assert_eq!(
        d(&user, Request::new("flows.deploy", &acme, pro)),
        Reason::RoleTooLow {
            required: Level::Manager,
            role: Role::User
        }
    );
    assert_eq!(
        d(
            &manager,
            Request::new("scripts.create", &acme, Tier::Standard)
        ),
        Reason::TierExcludes {
            tier: Tier::Standard,
            feature: Feature::Advanced
        }
    );
    // Tier trumps role only for what the role allows; the view stays.
    assert!(
        authorize(
            &p,
            &manager,
            &Request::new("scripts.view", &acme, Tier::Standard),
            NOW
        )
        .is_allowed()
    );
    // A grant lets a manager act in the linked company, and switch into it.
    for a in ["flows.deploy", "linked-companies.switch"] {
        assert_eq!(
            d(&manager, linked(a)),
            Reason::Allowed {
                min_role: Requirement::AtLeast(Level::Manager),
                feature: None,
                standing: Standing::Grant
            }
        );
    }
}

/// Every reason, its code and its sentence: the code is the serde tag, and no
/// sentence carries an "allowed"/"denied" prefix.
#[test]
fn reasons_have_one_code_and_read_as_sentences() {
    let all = examples();
    let mut text = String::new();
    for r in all {
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["kind"], r.kind(), "{r:?}");
        text.push_str(&format!(
            "{:<6} {:<30} {r}\n",
            format!("{:?}", r.effect()),
            r.kind()
        ));
    }
    insta::assert_snapshot!(text, @r"
    Allow  allowed                        the action requires manager or above and the `advanced` feature, which the tier includes, in a linked company entered by grant
    Allow  allowed                        the action requires read-only or above
    Allow  allowed                        the action's rule admits the principal
    Allow  allowed_by_custom_role         the custom role toggles edit on this area and the tier includes the `advanced` feature
    Allow  allowed_by_custom_role         the custom role toggles view on this area
    Deny   credential_expired             the principal's token has expired
    Deny   unknown_action                 the action is not in the policy
    Deny   other_company                  the company is neither the principal's own nor linked to it
    Deny   api_user_own_company_only      an api key acts only in its own company, never in a linked one
    Deny   missing_grant                  the company is linked to the principal's, but the principal holds no grant for it
    Deny   linked_role_too_low            acting in a linked company needs manager or above; the principal is user
    Deny   custom_role_in_linked_company  a custom role does not carry into a linked company
    Deny   grant_required                 the action is only allowed in a linked company, by grant
    Deny   own_company_only               the action is only allowed in the principal's own company, never by grant
    Deny   platform_support_only          nobody in a company may do this, only platform support
    Deny   administrator_only             only an administrator may do this; the principal is api-user
    Deny   human_only                     only a person may do this, never an api key
    Deny   outside_key_scope              the api key's scope does not allow this edit action
    Deny   role_too_low                   the action requires manager or above; the principal is read-only
    Deny   unknown_custom_role            the principal's custom role is not in the policy
    Deny   custom_role_lacks              the custom role does not toggle edit on this area
    Deny   not_grantable_by_custom_role   a custom role never grants administrator-only or platform-only actions
    Deny   tier_excludes                  the `standard` tier does not include the `advanced` feature
    ");
}

#[test]
fn role_change_reasons_have_one_code_and_read_as_sentences() {
    use RoleChangeReason::*;
    let all = [
        Allowed {
            from: Role::User,
            to: Role::Manager,
        },
        CredentialExpired { at: EXPIRES_AT },
        NoOneMakesAdministrator,
        ApiUserRoleIsFixed,
        OtherCompany,
        ApiUserOwnCompanyOnly,
        MissingGrant,
        LinkedRoleTooLow { role: Role::User },
        CustomRoleInLinkedCompany,
        CannotChangeRoles { role: Role::User },
        TargetOutranksActor {
            target: Role::Manager,
        },
        AboveActorsGrant {
            to: Role::Manager,
            max: Role::User,
        },
    ];
    let mut text = String::new();
    for r in all {
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["kind"], r.kind(), "{r:?}");
        text.push_str(&format!(
            "{:<6} {:<30} {r}\n",
            format!("{:?}", r.effect()),
            r.kind()
        ));
    }
    insta::assert_snapshot!(text, @r"
    Allow  allowed                        the actor may change a user to manager
    Deny   credential_expired             the actor's token has expired
    Deny   no_one_makes_administrator     nobody in a company may make an administrator, only platform support
    Deny   api_user_role_is_fixed         an api-user's role belongs to its api key and never changes
    Deny   other_company                  the target's company is neither the actor's own nor linked to it
    Deny   api_user_own_company_only      an api key acts only in its own company, never in a linked one
    Deny   missing_grant                  the target's company is linked to the actor's, but the actor holds no grant for it
    Deny   linked_role_too_low            acting in a linked company needs manager or above; the actor is user
    Deny   custom_role_in_linked_company  a custom role does not carry into a linked company
    Deny   cannot_change_roles            changing roles needs manager or above; the actor is user
    Deny   target_outranks_actor          the actor may not change the role of a manager
    Deny   above_actors_grant             the actor may grant at most user, not manager
    ");
}

#[test]
fn a_native_child_user_never_reaches_the_parent() {
    let p = Policy::default_policy();
    let acme = company("acme");
    let child_admin = bearer(Role::Administrator, "acme-eu");
    let grants = [acme.clone()];
    // Even with a (bogus) grant for the parent, the parent is not linked *to* the child.
    let r = Request::new("flows.view", &acme, Tier::Enterprise).with_grants(&grants);
    assert_eq!(
        authorize(&p, &child_admin, &r, NOW).reason(),
        Reason::OtherCompany
    );
}

#[test]
fn a_request_is_resolved_once_and_only_in_its_policy() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let asked = Request::new("flows.deploy", &acme, Tier::Professional);
    assert!(asked.def().is_none());
    let resolved = asked.resolved_in(&policy);
    assert_eq!(resolved.def(), policy.action("flows.deploy"));
    assert_eq!(resolved.action(), "flows.deploy");
    assert_eq!(
        (resolved.company(), resolved.tier(), resolved.parent()),
        (asked.company(), asked.tier(), asked.parent())
    );
    // Unknown to the policy: left as asked, and denied as unknown.
    let unknown = Request::new("flows.fly", &acme, Tier::Professional).resolved_in(&policy);
    assert!(unknown.def().is_none());
    let manager = crate::testing::principal(Role::Manager, &acme);
    assert_eq!(
        authorize(&policy, &manager, &unknown, crate::testing::NOW).reason(),
        Reason::UnknownAction
    );
    // Already resolved: kept, even when asked again against another policy.
    let other = Policy::deny_all();
    assert_eq!(resolved.resolved_in(&other).def(), resolved.def());
}
