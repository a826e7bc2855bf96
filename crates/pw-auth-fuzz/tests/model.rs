//! Model-based testing: the deliberately naive reference evaluator of
//! `pw_auth_fuzz::model`, written from docs/policy.md over the raw policy document
//! (strings, linear scans, no compiled form), must agree with the compiled engine on
//! random policies, principals and requests — as Cedar checks its engine against a
//! model.

use proptest::prelude::*;
use pw_auth_core::review::{Cell, Place, Subject};
use pw_auth_core::*;
use pw_auth_fuzz::model::{
    ModelPrincipal as NaivePrincipal, ModelRequest as NaiveRequest, reason_kind as naive,
};

const AREAS: [&str; 3] = ["alpha", "beta", "gamma"];
const VERBS: [&str; 4] = ["view", "edit", "run", "list"];

fn action_spec() -> impl Strategy<Value = ActionSpec> {
    (
        prop::sample::select(AREAS.to_vec()),
        prop::sample::select(VERBS.to_vec()),
        any::<bool>(),
        prop::sample::select(vec![
            "read-only",
            "user",
            "manager",
            "administrator",
            "nobody",
        ]),
        prop::option::of(prop::sample::select(vec!["advanced", "role-manager"])),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(area, verb, view, min_role, feature, grant, own, human)| ActionSpec {
                id: format!("{area}.{verb}"),
                kind: if view {
                    ActionKind::View
                } else {
                    ActionKind::Edit
                },
                grant_required: grant && matches!(min_role, "manager" | "administrator"),
                own_company_only: own
                    && !(grant && matches!(min_role, "manager" | "administrator")),
                human_only: human,
                min_role: min_role.to_owned(),
                feature: feature.map(str::to_owned),
            },
        )
}

fn custom_role(name: &'static str) -> impl Strategy<Value = CustomRoleSpec> {
    (
        prop::sample::subsequence(AREAS.to_vec(), 0..=3),
        prop::collection::vec(any::<bool>(), 3),
    )
        .prop_map(move |(view, pick)| CustomRoleSpec {
            name: name.to_owned(),
            edit: view
                .iter()
                .zip(&pick)
                .filter(|(_, p)| **p)
                .map(|(a, _)| (*a).to_owned())
                .collect(),
            view: view.into_iter().map(str::to_owned).collect(),
        })
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    (
        prop::collection::vec(action_spec(), 1..10),
        custom_role("r1"),
        custom_role("r2"),
        any::<bool>(),
    )
        .prop_map(|(mut actions, r1, r2, both)| {
            let mut seen = std::collections::HashSet::new();
            actions.retain(|a| seen.insert(a.id.clone()));
            // A custom role may only name areas that some action has.
            let present = |area: &String| {
                actions
                    .iter()
                    .any(|a| a.id.starts_with(&format!("{area}.")))
            };
            let (mut r1, mut r2) = (r1, r2);
            for r in [&mut r1, &mut r2] {
                r.view.retain(present);
                r.edit.retain(present);
            }
            PolicyDocument {
                name: "random".into(),
                version: "1".into(),
                actions,
                custom_roles: if both { vec![r1, r2] } else { vec![r2] },
                quotas: Default::default(),
            }
        })
}

const COMPANIES: [&str; 3] = ["p", "c1", "c2"];

/// A key scope over the generated documents' actions and areas.
fn key_scope() -> impl Strategy<Value = KeyScope> {
    let ids: Vec<String> = AREAS
        .iter()
        .flat_map(|a| VERBS.iter().map(move |v| format!("{a}.{v}")))
        .collect();
    let areas: Vec<String> = AREAS.iter().map(|a| (*a).to_owned()).collect();
    (
        prop::sample::subsequence(ids, 0..=3),
        prop::sample::subsequence(areas.clone(), 0..=2),
        prop::sample::subsequence(areas, 0..=2),
    )
        .prop_map(|(actions, view, edit)| KeyScope {
            actions,
            view,
            edit,
        })
}

fn principal() -> impl Strategy<Value = NaivePrincipal> {
    (
        prop::sample::select(vec![
            "administrator",
            "manager",
            "user",
            "read-only",
            "api-user",
        ]),
        prop::option::of(prop::sample::select(vec!["r1", "r2", "r3"])),
        prop::sample::select(COMPANIES.to_vec()),
        prop::option::of(key_scope()),
    )
        .prop_map(|(role, custom, home, scope)| NaivePrincipal {
            role,
            // An API key's user never has a custom role; only a key has a scope.
            custom: custom.filter(|_| role != "api-user").map(str::to_owned),
            home: home.to_owned(),
            scope: scope.filter(|_| role == "api-user"),
        })
}

fn request(doc_ids: Vec<String>) -> impl Strategy<Value = NaiveRequest> {
    (
        prop_oneof![4 => prop::sample::select(doc_ids), 1 => Just("alpha.missing".to_owned())],
        prop::sample::select(COMPANIES.to_vec()),
        prop::sample::select(vec!["trial", "standard", "professional", "enterprise"]),
        prop::option::of(prop::sample::select(COMPANIES.to_vec())),
        prop::sample::subsequence(COMPANIES.to_vec(), 0..=3),
        prop::option::of(own_role()),
    )
        .prop_map(
            |(action, company, tier, parent, grants, own_role)| NaiveRequest {
                action,
                company: company.to_owned(),
                tier,
                parent: parent.map(str::to_owned),
                grants: grants.into_iter().map(str::to_owned).collect(),
                own_role,
            },
        )
}

/// A company's own custom role handed over with a request: any company's, one of the
/// principals' role names, toggles over the areas (one, `delta`, no action has).
fn own_role() -> impl Strategy<Value = (String, CustomRoleSpec)> {
    let areas: Vec<&str> = AREAS.iter().copied().chain(["delta"]).collect();
    (
        prop::sample::select(COMPANIES.to_vec()),
        prop::sample::select(vec!["r1", "r2", "r3"]),
        prop::sample::subsequence(areas, 0..=4),
        prop::collection::vec(any::<bool>(), 4),
    )
        .prop_map(|(company, name, view, edited)| {
            let edit = view
                .iter()
                .zip(edited)
                .filter(|(_, e)| *e)
                .map(|(a, _)| (*a).to_owned())
                .collect();
            let view = view.into_iter().map(str::to_owned).collect();
            let spec = CustomRoleSpec {
                name: name.to_owned(),
                view,
                edit,
            };
            (company.to_owned(), spec)
        })
}

fn scenario() -> impl Strategy<Value = (PolicyDocument, NaivePrincipal, Vec<NaiveRequest>)> {
    document().prop_flat_map(|doc| {
        let ids: Vec<String> = doc.actions.iter().map(|a| a.id.clone()).collect();
        (
            Just(doc),
            principal(),
            prop::collection::vec(request(ids), 1..16),
        )
    })
}

fn to_principal(p: &NaivePrincipal) -> Principal {
    let home = CompanyId::new(&p.home).unwrap();
    if let Some(scope) = &p.scope {
        // A scoped key the real way: minted, narrowed, authenticated.
        let random: Vec<u8> = (1..=16).collect();
        let m = mint_api_key(&home, KeyLabel::new("k").unwrap(), &random, testing::NOW)
            .unwrap()
            .scoped(scope.clone());
        return Authenticator::default()
            .api_key(
                &m.key,
                Lookup::Found(&m.record),
                Some(&m.user),
                testing::NOW,
            )
            .unwrap();
    }
    let role: Role = p.role.parse().unwrap();
    let principal = testing::principal(role, &home);
    match &p.custom {
        Some(c) => testing::with_custom_role(principal, CustomRoleName::new(c).unwrap()).unwrap(),
        None => principal,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_compiled_engine_agrees_with_the_naive_model((doc, p, requests) in scenario()) {
        let policy = Policy::compile(&doc).unwrap();
        let principal = to_principal(&p);
        for r in &requests {
            let company = CompanyId::new(&r.company).unwrap();
            let parent = r.parent.as_deref().map(|c| CompanyId::new(c).unwrap());
            let grants: Vec<CompanyId> = r.grants.iter().map(|c| CompanyId::new(c).unwrap()).collect();
            let tier: Tier = r.tier.parse().unwrap();
            let own = r.own_role.as_ref().map(|(of, spec)| {
                CompanyRole::from_record(CompanyId::new(of).unwrap(), spec).unwrap()
            });
            let req = Request::new(&r.action, &company, tier)
                .with_grants(&grants)
                .with_parent(parent.as_ref())
                .with_custom_role(own.as_ref());
            let got = authorize(&policy, &principal, &req, testing::NOW);
            let want = naive(&doc, &p, r);
            prop_assert_eq!(got.reason().kind(), want, "{:?} {:?}", p, r);
            prop_assert_eq!(got.is_allowed(), want.starts_with("allowed"));
        }
    }
}

/// The naive model's request for a cell of the decision table (with its scoped keys'
/// scopes).
fn model_cell(c: &Cell, scopes: &[(String, KeyScope)]) -> (NaivePrincipal, NaiveRequest) {
    let scope = match &c.subject {
        Subject::ScopedKey(name) => scopes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone()),
        _ => None,
    };
    let (role, custom) = match &c.subject {
        Subject::Role(r) => (
            match r {
                Role::Administrator => "administrator",
                Role::Manager => "manager",
                Role::User => "user",
                Role::ReadOnly => "read-only",
                Role::ApiUser => "api-user",
            },
            None,
        ),
        Subject::Custom(name) => ("user", Some(name.as_str().to_owned())),
        Subject::ScopedKey(_) => ("api-user", None),
    };
    let (company, parent, grants) = match c.place {
        Place::OwnCompany => ("home", None, vec![]),
        Place::LinkedWithGrant => ("linked", Some("home".to_owned()), vec!["linked".to_owned()]),
        Place::LinkedWithoutGrant => ("linked", Some("home".to_owned()), vec![]),
    };
    let tier = match c.tier {
        Tier::Trial => "trial",
        Tier::Standard => "standard",
        Tier::Professional => "professional",
        Tier::Enterprise => "enterprise",
    };
    (
        NaivePrincipal {
            role,
            custom,
            home: "home".to_owned(),
            scope,
        },
        NaiveRequest {
            action: c.action.clone(),
            company: company.to_owned(),
            tier,
            parent,
            grants,
            own_role: None,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every cell of a random policy's decision table is what the naive model says,
    /// and the table holds every subject × action × tier × place exactly once.
    #[test]
    fn the_decision_table_agrees_with_the_naive_model(
        doc in document(), scopes in prop::collection::vec(key_scope(), 0..3),
    ) {
        let policy = Policy::compile(&doc).unwrap();
        let scopes: Vec<(String, KeyScope)> =
            scopes.into_iter().enumerate().map(|(i, s)| (format!("s{i}"), s)).collect();
        let table = policy.decision_table_with_scopes(&scopes);
        let subjects = 5 + doc.custom_roles.len() + scopes.len();
        prop_assert_eq!(table.cells().len(), subjects * doc.actions.len() * 4 * 3);
        for c in table.cells() {
            let (p, r) = model_cell(c, &scopes);
            let want = naive(&doc, &p, &r);
            prop_assert_eq!(c.verdict.reason.kind(), want, "{:?}", c);
            prop_assert_eq!(c.verdict.effect == Effect::Allow, want.starts_with("allowed"));
        }
    }

    /// A diff of a policy with itself, or with the same policy written differently
    /// (its actions in another order), is empty; changing one action's minimum role
    /// moves only that action's cells, and every cell whose answer the naive model
    /// sees change is among them.
    #[test]
    fn a_changed_minimum_role_changes_exactly_its_cells(
        doc in document(),
        pick in any::<prop::sample::Index>(),
        new_min in prop::sample::select(vec!["read-only", "user", "manager", "administrator", "nobody"]),
        scope in key_scope(),
    ) {
        let scopes = [("s".to_owned(), scope)];
        let policy = Policy::compile(&doc).unwrap();
        prop_assert!(policy.diff(&policy).is_empty());
        let mut reordered = doc.clone();
        reordered.actions.reverse();
        prop_assert!(policy.diff(&Policy::compile(&reordered).unwrap()).is_empty());

        let i = pick.index(doc.actions.len());
        let mut changed = doc.clone();
        changed.actions[i].min_role = new_min.to_owned();
        if changed.actions[i].grant_required && !matches!(new_min, "manager" | "administrator") {
            changed.actions[i].grant_required = false;
        }
        let Ok(after) = Policy::compile(&changed) else {
            return Ok(());
        };
        let diff = policy.diff_with_scopes(&after, &scopes);
        let id = &doc.actions[i].id;
        for change in &diff {
            prop_assert_eq!(&change.action, id, "{}", change);
            prop_assert!(change.before.is_some() && change.after.is_some());
            prop_assert_ne!(change.before, change.after);
        }
        for c in policy.decision_table_with_scopes(&scopes).cells().iter().filter(|c| &c.action == id) {
            let (p, r) = model_cell(c, &scopes);
            let before = naive(&doc, &p, &r);
            let now = naive(&changed, &p, &r);
            let listed = diff.iter().any(|d| d.subject == c.subject && d.tier == c.tier && d.place == c.place);
            if before != now {
                prop_assert!(listed, "{:?}: {} → {} not in the diff", c, before, now);
            }
        }
    }
}
