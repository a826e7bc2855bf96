//! The embedded demo company: users of every role, API keys, a linked company and
//! every tier, built deterministically (fixed clock, fixed bytes) so that the demo's
//! output is the same on every run.

use pw_auth_core::{
    AccessToken, ApiKey, CompanyId, ExpiresIn, IdError, KeyLabel, MintError, Password, Role, Tier,
    UserId, UserRecord, issue_token, mint_api_key,
};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::directory::{Company, Directory, Grant};

/// When the demo's records were made.
pub(crate) const DEMO_START: OffsetDateTime = datetime!(2026-11-27 09:00 UTC);
/// The demo's "now", three hours later.
pub(crate) const DEMO_NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

/// Why the demo world could not be built (never expected: its inputs are constants).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorldError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Mint(#[from] MintError),
    #[error("demo fixture: {0}")]
    Fixture(String),
}

/// Deterministic "random" bytes for a demo credential. Not random at all: demo only.
pub(crate) fn demo_bytes(label: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut h: u32 = 0x811c_9dc5;
    for (i, slot) in out.iter_mut().enumerate() {
        for b in label.bytes().chain([u8::try_from(i).unwrap_or(0)]) {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        *slot = h.to_le_bytes().first().copied().unwrap_or(0);
    }
    out
}

/// A person of the demo, with the password they log in with.
pub(crate) struct Person {
    pub(crate) user: UserRecord,
    pub(crate) password: Password,
    pub(crate) token: AccessToken,
}

/// The demo world: the directory, and the credentials its records were made from.
pub(crate) struct World {
    pub(crate) directory: Directory,
    pub(crate) people: Vec<Person>,
    pub(crate) erp_key: ApiKey,
    pub(crate) revoked_key: ApiKey,
}

impl World {
    pub(crate) fn person(&self, id: &str) -> Result<&Person, WorldError> {
        self.people
            .iter()
            .find(|p| p.user.id.as_str() == id)
            .ok_or_else(|| WorldError::Fixture(format!("no person `{id}`")))
    }
}

/// Builds the demo world.
pub(crate) fn build() -> Result<World, WorldError> {
    let c = |s: &str| CompanyId::new(s);
    let (acme, acme_eu, globex, initech) = (c("acme")?, c("acme-eu")?, c("globex")?, c("initech")?);
    let mut directory = Directory {
        companies: vec![
            Company {
                id: acme.clone(),
                tier: Tier::Professional,
                parent: None,
            },
            Company {
                id: acme_eu.clone(),
                tier: Tier::Professional,
                parent: Some(acme.clone()),
            },
            Company {
                id: globex.clone(),
                tier: Tier::Standard,
                parent: None,
            },
            Company {
                id: initech.clone(),
                tier: Tier::Enterprise,
                parent: None,
            },
        ],
        ..Directory::default()
    };
    let roster = [
        ("ann", &acme, Role::Administrator),
        ("max", &acme, Role::Manager),
        ("mia", &acme, Role::Manager),
        ("uma", &acme, Role::User),
        ("rob", &acme, Role::ReadOnly),
        ("eve", &acme_eu, Role::Administrator),
        ("gail", &globex, Role::Manager),
        ("ivan", &initech, Role::Administrator),
    ];
    let mut people = Vec::new();
    for (id, company, role) in roster {
        let user = UserRecord::active(UserId::new(id)?, company.clone(), role);
        let password = Password::new(format!("demo-password-{id}"))
            .map_err(|e| WorldError::Fixture(e.to_string()))?;
        let issued = issue_token(
            &user,
            &demo_bytes(&format!("token-{id}")),
            DEMO_START,
            ExpiresIn::DEFAULT,
        )?;
        directory.tokens.push(issued.record);
        directory.users.push(user.clone());
        people.push(Person {
            user,
            password,
            token: issued.token,
        });
    }
    directory.grants.push(Grant {
        user: UserId::new("max")?,
        company: acme_eu,
    });

    let erp = mint_api_key(
        &acme,
        label("ERP connector")?,
        &demo_bytes("key-erp"),
        DEMO_START,
    )?;
    let mut old = mint_api_key(
        &acme,
        label("Old web shop")?,
        &demo_bytes("key-old-shop"),
        DEMO_START,
    )?;
    old.record
        .revoke(DEMO_START)
        .map_err(|e| WorldError::Fixture(e.to_string()))?;
    for m in [&erp, &old] {
        directory.users.push(m.user.clone());
        directory.api_keys.push(m.record.clone());
    }
    Ok(World {
        directory,
        people,
        erp_key: erp.key,
        revoked_key: old.key,
    })
}

fn label(s: &str) -> Result<KeyLabel, WorldError> {
    KeyLabel::new(s).map_err(|e| WorldError::Fixture(e.to_string()))
}
