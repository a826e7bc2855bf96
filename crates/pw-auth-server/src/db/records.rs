//! Each transaction the server runs, written once for both backends: what it reads,
//! what it decides from that, and what it writes, against [`Tx`] and the statements
//! of [`super::statements`]. The backend only opens and commits the transaction
//! ([`Mode`]), so SQLite and PostgreSQL cannot drift apart.

use std::sync::Arc;

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, Record, StoreError};
use pw_auth_core::{
    ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CompanyRole, CredentialDigest, CustomRoleName,
    CustomRoleSpec, Grant, LimitState, RotateError, RotatedApiKey, RotationGrace, Tier,
    TokenDigest, TokenRecord, UserId, UserRecord, rotate_api_key,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::batch::{Columns, Entry};
use super::local::Payer;
use super::sql::{Arg, Mode, Tx, args};
use super::statements as q;
use super::{
    AuditPage, AuditQuery, Db, PruneBefore, Pruned, aggregate_key, digest_text, err,
    failure_whole_at, json, lookup_of, parse, token_end, unix, with_count,
};

/// A stored company id as the core's type.
fn company_id(text: &str) -> Result<CompanyId, StoreError> {
    CompanyId::new(text).map_err(err)
}

/// The state `read` returns for `key` (a budget's or a failure budget's; the `LOCK_`
/// statements also lock it until the commit); a fresh state if there is none yet.
async fn stored_state(
    tx: &mut Tx<'_>,
    read: &super::sql::Sql,
    key: &str,
    fresh: &str,
) -> Result<LimitState, StoreError> {
    match tx.text(read, args![key, fresh]).await? {
        Some(state) => parse(&state),
        None => Ok(LimitState::default()),
    }
}

/// A stored custom role of `company` as the core's type: a definition that fails the
/// core's checks was not written by this server, and is refused as corrupt.
fn company_role(company: &CompanyId, text: &str) -> Result<CompanyRole, StoreError> {
    let spec: CustomRoleSpec = parse(text)?;
    CompanyRole::from_record(company.clone(), &spec).map_err(|e| {
        StoreError::new(
            pw_auth_axum::StoreErrorKind::Corrupt,
            "a stored custom role fails the role checks",
        )
        .caused_by(e)
    })
}

/// What [`Db::assign_custom_role`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// The user's record now, and the custom role it held before.
    Done {
        /// The user's record after the change.
        user: UserRecord,
        /// The custom role the user held before, if any.
        before: Option<CustomRoleName>,
    },
    /// The company has no such user.
    NoUser,
    /// The company defines no custom role of that name (and the policy does not
    /// either).
    NoRole,
}

/// What [`Db::update_login`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginUpdated {
    /// Done (and, for a new password, every token of the user's revoked).
    Done,
    /// The company has no such user.
    NoUser,
    /// Another user has the username: nothing changed.
    UsernameTaken,
}

/// What [`Db::delete_custom_role`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDeleted {
    /// Deleted.
    Deleted,
    /// The company has no custom role of that name.
    NotFound,
    /// Kept: this many of the company's users hold it.
    Held(u64),
}

/// The records' own operations, beyond what the guard reads and writes
/// ([`AuthStore`]). Each is one transaction: an error means nothing was written.
impl Db {
    /// Whether the store holds no company yet (a fresh database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        self.transaction_uncached(Mode::Single, |tx| {
            Box::pin(async move { Ok(tx.count(&q::COUNT_COMPANIES, args![]).await? == 0) })
        })
        .await
    }

    /// Whether the records answer: one trivial statement, read past every cache.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.transaction_uncached(Mode::Single, |tx| {
            Box::pin(async move { tx.count(&q::PING, args![]).await.map(drop) })
        })
        .await
    }

    /// Adds a company.
    pub async fn add_company(
        &self,
        id: CompanyId,
        tier: Tier,
        parent: Option<CompanyId>,
    ) -> Result<(), StoreError> {
        self.transaction(Mode::Single, move |tx| {
            Box::pin(async move {
                let parent = parent.as_ref().map(CompanyId::as_str);
                tx.execute(&q::ADD_COMPANY, args![id.as_str(), tier.as_str(), parent])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Adds a user, with a login (username and argon2 hash) for a person.
    pub async fn add_user(
        &self,
        user: UserRecord,
        login: Option<(String, String)>,
    ) -> Result<(), StoreError> {
        let record = json(&user)?;
        self.transaction(Mode::Single, move |tx| {
            Box::pin(async move {
                let (username, hash) = login.unzip();
                tx.execute(
                    &q::ADD_USER,
                    args![
                        user.id.as_str(),
                        &record,
                        username.as_deref(),
                        hash.as_deref()
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The users of `company` (api-users included: the caller tells them by role),
    /// each with its username, by id.
    pub async fn users_of(
        &self,
        company: CompanyId,
    ) -> Result<Vec<(UserRecord, Option<String>)>, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                tx.rows(&q::USERS_OF, args![company.as_str()])
                    .await?
                    .iter()
                    .map(|row| {
                        let user: UserRecord = parse(row.text(0)?)?;
                        Ok((user, row.maybe_text(1)?.map(str::to_owned)))
                    })
                    .collect()
            })
        })
        .await
    }

    /// The user `id` of `company`, if there is one.
    pub async fn user_of(
        &self,
        company: CompanyId,
        id: UserId,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                match tx
                    .text(&q::USER_OF, args![id.as_str(), company.as_str()])
                    .await?
                {
                    Some(text) => parse(&text).map(Some),
                    None => Ok(None),
                }
            })
        })
        .await
    }

    /// Adds `user`, who logs in as `username` with the password hashed as `hash`,
    /// unless its id or the username is taken: `false` then, and nothing written.
    pub async fn add_user_unless_taken(
        &self,
        user: UserRecord,
        username: String,
        hash: String,
    ) -> Result<bool, StoreError> {
        let record = json(&user)?;
        self.transaction(Mode::Write, move |tx| {
            Box::pin(async move {
                let taken = tx
                    .count(&q::USER_TAKEN, args![user.id.as_str(), username.as_str()])
                    .await?;
                if taken > 0 {
                    return Ok(false);
                }
                tx.execute(
                    &q::ADD_USER,
                    args![
                        user.id.as_str(),
                        &record,
                        Some(username.as_str()),
                        Some(hash.as_str())
                    ],
                )
                .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Replaces a user's record (a new role or status); from the next request on,
    /// every credential of the user is checked against it. `false` if there is no
    /// such user.
    pub async fn set_user(&self, user: UserRecord) -> Result<bool, StoreError> {
        let record = json(&user)?;
        self.transaction(Mode::Write, move |tx| {
            Box::pin(async move {
                Ok(tx
                    .execute(&q::SET_USER, args![user.id.as_str(), &record])
                    .await?
                    > 0)
            })
        })
        .await
    }

    /// Gives `company`'s user `id` a new username, a new password (its hash), or
    /// both, in one transaction; a new password revokes every token of the user's
    /// (as of `now`), so a session opened with the old one ends with it.
    pub async fn update_login(
        &self,
        company: CompanyId,
        id: UserId,
        username: Option<String>,
        hash: Option<String>,
        now: OffsetDateTime,
    ) -> Result<LoginUpdated, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let user = args![id.as_str(), company.as_str()];
                if tx.text(&q::USER_OF_LOCKED, user).await?.is_none() {
                    return Ok(LoginUpdated::NoUser);
                }
                if let Some(username) = &username {
                    let taken = args![username.as_str(), id.as_str()];
                    if tx.count(&q::USERNAME_TAKEN_BY_OTHER, taken).await? > 0 {
                        return Ok(LoginUpdated::UsernameTaken);
                    }
                    tx.execute(&q::SET_USERNAME, args![id.as_str(), username.as_str()])
                        .await?;
                }
                if let Some(hash) = &hash {
                    tx.execute(&q::SET_PASSWORD_OF, args![id.as_str(), hash.as_str()])
                        .await?;
                    for row in tx
                        .rows(&q::TOKENS_OF_FOR_UPDATE, args![id.as_str()])
                        .await?
                    {
                        let mut record: TokenRecord = parse(row.text(1)?)?;
                        if record.revoke(now).is_ok() {
                            tx.execute(&q::SET_TOKEN, args![row.text(0)?, &json(&record)?])
                                .await?;
                        }
                    }
                }
                Ok(LoginUpdated::Done)
            })
        })
        .await
    }

    /// `company`'s own custom roles, by name.
    pub async fn custom_roles_of(
        &self,
        company: CompanyId,
    ) -> Result<Vec<CompanyRole>, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                tx.rows(&q::COMPANY_ROLES, args![company.as_str()])
                    .await?
                    .iter()
                    .map(|row| company_role(&company, row.text(0)?))
                    .collect()
            })
        })
        .await
    }

    /// Keeps `role`, a new custom role of its company: `false` if the company has one
    /// by that name already (nothing written).
    pub async fn add_custom_role(&self, role: CompanyRole) -> Result<bool, StoreError> {
        let record = json(&role.to_spec())?;
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let args = args![role.company().as_str(), role.name().as_str(), &record];
                Ok(tx.execute(&q::ADD_ROLE, args).await? > 0)
            })
        })
        .await
    }

    /// Replaces the definition of `role`'s company's custom role of its name: `false`
    /// if there is none. From the next request on, its holders act under the new one.
    pub async fn set_custom_role(&self, role: CompanyRole) -> Result<bool, StoreError> {
        let record = json(&role.to_spec())?;
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let args = args![role.company().as_str(), role.name().as_str(), &record];
                Ok(tx.execute(&q::SET_ROLE, args).await? > 0)
            })
        })
        .await
    }

    /// Deletes `company`'s custom role `name`, unless one of its users holds it (an
    /// assignment running at the same time either finishes first, and the role is
    /// kept, or finds no role).
    pub async fn delete_custom_role(
        &self,
        company: CompanyId,
        name: CustomRoleName,
    ) -> Result<RoleDeleted, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let key = args![company.as_str(), name.as_str()];
                if tx.count(&q::ROLE_LOCKED, key).await? == 0 {
                    return Ok(RoleDeleted::NotFound);
                }
                let holders = tx.count(&q::ROLE_HOLDERS, key).await?;
                if holders > 0 {
                    return Ok(RoleDeleted::Held(holders));
                }
                tx.execute(&q::DELETE_ROLE, key).await?;
                Ok(RoleDeleted::Deleted)
            })
        })
        .await
    }

    /// Gives `company`'s user `user` the custom role `role`, or takes theirs away
    /// (`None`). A role must be one the company defines, unless `policy_defines` it
    /// (a custom role of the policy document). From the next request on, every
    /// credential of the user acts under it.
    pub async fn assign_custom_role(
        &self,
        company: CompanyId,
        user: UserId,
        role: Option<CustomRoleName>,
        policy_defines: bool,
    ) -> Result<Assigned, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let Some(text) = tx
                    .text(&q::USER_OF_LOCKED, args![user.as_str(), company.as_str()])
                    .await?
                else {
                    return Ok(Assigned::NoUser);
                };
                let mut record: UserRecord = parse(&text)?;
                if let Some(name) = &role
                    && !policy_defines
                    && tx
                        .count(&q::ROLE_LOCKED, args![company.as_str(), name.as_str()])
                        .await?
                        == 0
                {
                    return Ok(Assigned::NoRole);
                }
                let before = std::mem::replace(&mut record.custom_role, role);
                let stored = json(&record)?;
                tx.execute(&q::SET_USER, args![record.id.as_str(), &stored])
                    .await?;
                Ok(Assigned::Done {
                    user: record,
                    before,
                })
            })
        })
        .await
    }

    /// Sets a company's tier: `false` if there is no such company.
    pub async fn set_tier(&self, company: CompanyId, tier: Tier) -> Result<bool, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                Ok(tx
                    .execute(&q::SET_TIER, args![company.as_str(), tier.as_str()])
                    .await?
                    > 0)
            })
        })
        .await
    }

    /// Links `company` to `parent`, or unlinks it (`None`): unlinking withdraws
    /// every grant for it, so no member of the former parent keeps access. `false`
    /// if there is no such company.
    pub async fn set_parent(
        &self,
        company: CompanyId,
        parent: Option<CompanyId>,
    ) -> Result<bool, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let parent_text = parent.as_ref().map(CompanyId::as_str);
                let found = tx
                    .execute(&q::SET_PARENT, args![company.as_str(), parent_text])
                    .await?
                    > 0;
                if found && parent.is_none() {
                    tx.execute(&q::DELETE_GRANTS_FOR, args![company.as_str()])
                        .await?;
                }
                Ok(found)
            })
        })
        .await
    }

    /// Withdraws `user`'s grant for `company`: `false` if it held none.
    pub async fn withdraw_grant(
        &self,
        user: UserId,
        company: CompanyId,
    ) -> Result<bool, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                Ok(tx
                    .execute(&q::DELETE_GRANT, args![user.as_str(), company.as_str()])
                    .await?
                    > 0)
            })
        })
        .await
    }

    /// Replaces the password hash of the user who logs in as `username`, and
    /// revokes every token of theirs: the user's id, or `None` if no user has that
    /// username.
    pub async fn reset_password(
        &self,
        username: String,
        hash: String,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        let id = self
            .transaction(Mode::Durable, move |tx| {
                Box::pin(async move {
                    match tx.text(&q::SET_PASSWORD, args![&username, &hash]).await? {
                        Some(id) => UserId::new(&id).map(Some).map_err(err),
                        None => Ok(None),
                    }
                })
            })
            .await?;
        if let Some(id) = &id {
            self.revoke_tokens_of(id.clone(), now).await?;
        }
        Ok(id)
    }

    /// Gives `user` a grant for the linked company `company`, permanent or until
    /// `expires_at` (a grant held already gets the new end).
    pub async fn grant(
        &self,
        user: UserId,
        company: CompanyId,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.transaction(Mode::Single, move |tx| {
            Box::pin(async move {
                let end = expires_at.map(OffsetDateTime::unix_timestamp);
                tx.execute(&q::GRANT, args![user.as_str(), company.as_str(), end])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The user with this username, and its password hash.
    pub async fn login_user(
        &self,
        username: String,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                let Some(row) = tx.row(&q::LOGIN_USER, args![&username]).await? else {
                    return Ok(None);
                };
                match row.maybe_text(1)? {
                    Some(hash) => Ok(Some((parse(row.text(0)?)?, hash.to_owned()))),
                    None => Ok(None),
                }
            })
        })
        .await
    }

    /// Stores a token record.
    pub async fn add_token(&self, record: TokenRecord) -> Result<(), StoreError> {
        let (digest, text) = (digest_text(&record.digest)?, json(&record)?);
        self.transaction(Mode::Single, move |tx| {
            Box::pin(async move {
                tx.execute(
                    &q::ADD_TOKEN,
                    args![&digest, record.id.as_str(), record.user.as_str(), &text],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Revokes a token by digest (a logout). `false` if there is no such token or it
    /// was already revoked.
    pub async fn revoke_token(
        &self,
        digest: TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = digest_text(&digest)?;
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let Some(record) = tx.text(&q::TOKEN_FOR_UPDATE, args![&key]).await? else {
                    return Ok(false);
                };
                let mut record: TokenRecord = parse(&record)?;
                if record.revoke(now).is_err() {
                    return Ok(false);
                }
                tx.execute(&q::SET_TOKEN, args![&key, &json(&record)?])
                    .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Revokes every token of `user` (an operator's action, e.g. after a password
    /// change). Returns how many were revoked.
    pub async fn revoke_tokens_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let rows = tx
                    .rows(&q::TOKENS_OF_FOR_UPDATE, args![user.as_str()])
                    .await?;
                let mut n = 0usize;
                for row in rows {
                    let mut record: TokenRecord = parse(row.text(1)?)?;
                    if record.revoke(now).is_ok() {
                        tx.execute(&q::SET_TOKEN, args![row.text(0)?, &json(&record)?])
                            .await?;
                        n = n.saturating_add(1);
                    }
                }
                Ok(n)
            })
        })
        .await
    }

    /// Stores a freshly minted key's record and its api-user, together.
    pub async fn add_key(&self, record: ApiKeyRecord, user: UserRecord) -> Result<(), StoreError> {
        let (digest, key_text, user_text) =
            (digest_text(&record.digest)?, json(&record)?, json(&user)?);
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                tx.execute(&q::ADD_KEY_USER, args![user.id.as_str(), &user_text])
                    .await?;
                tx.execute(
                    &q::ADD_KEY,
                    args![
                        &digest,
                        record.id.as_str(),
                        record.company.as_str(),
                        &key_text
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Every key of `company`, oldest first, each with the start of the minute it was
    /// last used in (written behind: [`Db::touch_keys`]).
    pub async fn keys_of(
        &self,
        company: CompanyId,
    ) -> Result<Vec<(ApiKeyRecord, Option<OffsetDateTime>)>, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                tx.rows(&q::KEYS_OF, args![company.as_str()])
                    .await?
                    .iter()
                    .map(|row| {
                        let used = match row.maybe_int(1)? {
                            None => None,
                            Some(secs) => Some(
                                OffsetDateTime::from_unix_timestamp(secs)
                                    .map_err(|_| super::corrupt("a key's last use"))?,
                            ),
                        };
                        Ok((parse(row.text(0)?)?, used))
                    })
                    .collect()
            })
        })
        .await
    }

    /// Moves each key's last use forward to the minute given (never back), in one
    /// transaction; how many statements it ran. Not a record a decision reads, so
    /// the read cache is left as it is.
    pub async fn touch_keys(&self, uses: Vec<(ApiKeyId, i64)>) -> Result<usize, StoreError> {
        self.transaction_uncached(Mode::Write, move |tx| {
            Box::pin(async move {
                for (key, minute) in &uses {
                    tx.execute(&q::TOUCH_KEY, args![key.as_str(), *minute])
                        .await?;
                }
                Ok(uses.len())
            })
        })
        .await
    }

    /// Revokes `company`'s key `id`: `Ok(None)` if there is no such key in that
    /// company, `Ok(Some(false))` if it was already revoked.
    pub async fn revoke_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let key = args![id.as_str(), company.as_str()];
                let Some(row) = tx.row(&q::KEY_OF_FOR_UPDATE, key).await? else {
                    return Ok(None);
                };
                let mut record: ApiKeyRecord = parse(row.text(1)?)?;
                if record.revoke(now).is_err() {
                    return Ok(Some(false));
                }
                tx.execute(&q::SET_KEY, args![row.text(0)?, &json(&record)?])
                    .await?;
                Ok(Some(true))
            })
        })
        .await
    }

    /// Rotates `company`'s key `id` at `now` ([`rotate_api_key`]): stores the old
    /// record with its retirement and the successor (for the same api-user) in one
    /// transaction. `Ok(None)` if there is no such key in that company; `Ok(Some(Err))`
    /// if it cannot be rotated (revoked, rotated already, ended).
    pub async fn rotate_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        random: Zeroizing<[u8; 32]>,
        now: OffsetDateTime,
        grace: RotationGrace,
    ) -> Result<Option<Result<RotatedApiKey, RotateError>>, StoreError> {
        self.transaction(Mode::Durable, move |tx| {
            Box::pin(async move {
                let key = args![id.as_str(), company.as_str()];
                let Some(row) = tx.row(&q::KEY_OF_FOR_UPDATE, key).await? else {
                    return Ok(None);
                };
                let old: ApiKeyRecord = parse(row.text(1)?)?;
                let rotated = match rotate_api_key(&old, &*random, now, grace) {
                    Ok(r) => r,
                    Err(e) => return Ok(Some(Err(e))),
                };
                tx.execute(&q::SET_KEY, args![row.text(0)?, &json(&rotated.retired)?])
                    .await?;
                let new = &rotated.record;
                tx.execute(
                    &q::ADD_KEY,
                    args![
                        &digest_text(&new.digest)?,
                        new.id.as_str(),
                        new.company.as_str(),
                        &json(new)?
                    ],
                )
                .await?;
                Ok(Some(Ok(rotated)))
            })
        })
        .await
    }

    /// Deletes `company`'s key `id`, and its api-user unless a successor from a
    /// rotation still acts as it, remembering the digest so a request with the key
    /// is told "deleted". `false` if there is no such key.
    pub async fn delete_key(&self, company: CompanyId, id: ApiKeyId) -> Result<bool, StoreError> {
        let deleted = id.clone();
        let done = self
            .transaction(Mode::Durable, move |tx| {
                Box::pin(async move {
                    let key = args![id.as_str(), company.as_str()];
                    let Some(row) = tx.row(&q::KEY_OF_FOR_UPDATE, key).await? else {
                        return Ok(false);
                    };
                    let digest = row.text(0)?;
                    let record: ApiKeyRecord = parse(row.text(1)?)?;
                    tx.execute(&q::DELETE_KEY, args![digest]).await?;
                    let mut shared = false;
                    for row in tx.rows(&q::KEYS_OF, args![company.as_str()]).await? {
                        let other: ApiKeyRecord = parse(row.text(0)?)?;
                        shared |= other.user == record.user;
                    }
                    if !shared {
                        tx.execute(&q::DELETE_USER, args![record.user.as_str()])
                            .await?;
                    }
                    tx.execute(&q::REMEMBER_DELETED_KEY, args![digest]).await?;
                    // Its own budget goes with it: it can never be charged again.
                    tx.execute(&q::DELETE_KEY_BUDGET, args![id.as_str()])
                        .await?;
                    Ok(true)
                })
            })
            .await?;
        if done && let Some(local) = self.local() {
            local.budgets.forget_key(&deleted);
        }
        Ok(done)
    }

    /// How many audit records are kept (a gathered row of throttled requests counts
    /// once).
    pub async fn audit_count(&self) -> Result<u64, StoreError> {
        self.transaction_uncached(Mode::Single, |tx| {
            Box::pin(async move { tx.count(&q::COUNT_AUDIT, args![]).await })
        })
        .await
    }

    /// The audit records, oldest first, as stored (JSON; a gathered row of throttled
    /// requests with its `count`).
    pub async fn audit_records(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        self.transaction_uncached(Mode::Single, |tx| {
            Box::pin(async move {
                tx.rows(&q::ALL_AUDIT, args![])
                    .await?
                    .iter()
                    .map(|row| with_count(row.text(0)?, row.int(1)?))
                    .collect()
            })
        })
        .await
    }

    /// One page of `query.company`'s audit log, newest first: the records of
    /// requests that acted in it or that its people made, each with its `count` when
    /// it stands for several, and the cursor of the next page when there may be one.
    pub async fn audit_page(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
                let rows = tx
                    .rows(
                        &q::AUDIT_PAGE,
                        &[
                            Arg::Text(query.company.as_str()),
                            Arg::Int(query.before.unwrap_or(i64::MAX)),
                            Arg::Int(query.since.map_or(i64::MIN, unix)),
                            Arg::Int(query.until.map_or(i64::MAX, unix)),
                            Arg::MaybeText(query.kind.as_deref()),
                            Arg::MaybeText(query.decision_id.as_deref()),
                            Arg::Int(limit),
                        ],
                    )
                    .await?;
                let mut records = Vec::with_capacity(rows.len());
                let mut last = None;
                for row in &rows {
                    last = Some(row.int(0)?);
                    records.push(with_count(row.text(1)?, row.int(2)?)?);
                }
                // A full page may have more behind it; a short one is the last.
                let next = last.filter(|_| records.len() >= query.limit);
                Ok(AuditPage { records, next })
            })
        })
        .await
    }

    /// Deletes what is older than `before`: audit records, token records that
    /// expired or were revoked, and whole failure budgets.
    pub async fn prune(&self, before: PruneBefore) -> Result<Pruned, StoreError> {
        self.transaction(Mode::Write, move |tx| {
            Box::pin(async move {
                let audit = tx
                    .execute(&q::PRUNE_AUDIT, args![unix(before.audit)])
                    .await?;
                let mut tokens = 0u64;
                for row in tx.rows(&q::ALL_TOKENS, args![]).await? {
                    let record: TokenRecord = parse(row.text(1)?)?;
                    if token_end(&record) < before.tokens {
                        let gone = tx.execute(&q::DELETE_TOKEN, args![row.text(0)?]).await?;
                        tokens = tokens.saturating_add(gone);
                    }
                }
                let mut failures = 0u64;
                for row in tx.rows(&q::ALL_FAILURES, args![]).await? {
                    if failure_whole_at(parse(row.text(1)?)?, before.failures) {
                        let gone = tx.execute(&q::DELETE_FAILURES, args![row.text(0)?]).await?;
                        failures = failures.saturating_add(gone);
                    }
                }
                Ok(Pruned {
                    audit,
                    tokens,
                    failures,
                })
            })
        })
        .await
    }
}

impl Db {
    /// The records for a credential, read from the store.
    async fn read_load(&self, digest: &CredentialDigest) -> Result<Loaded, StoreError> {
        let lookup = lookup_of(digest)?;
        // One statement: the key or token, its user and the grants, from one snapshot.
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                let (sql, digest) = match &lookup {
                    Ok(key) => (&q::LOAD_KEY, key),
                    Err(token) => (&q::LOAD_TOKEN, token),
                };
                let Some(row) = tx.row(sql, args![digest.as_str()]).await? else {
                    return Err(StoreError::new(
                        pw_auth_axum::StoreErrorKind::Corrupt,
                        "a credential's lookup returned no row",
                    ));
                };
                let mut loaded = Loaded::default();
                match (row.maybe_text(0)?, &lookup) {
                    (Some(record), Ok(_)) => loaded.key = Record::Found(parse(record)?),
                    (Some(record), Err(_)) => loaded.token = Record::Found(parse(record)?),
                    (None, Ok(_)) if row.int(1)? != 0 => loaded.key = Record::Deleted,
                    (None, _) => {}
                }
                // A user only for a record found (the join finds none otherwise).
                loaded.user = row.maybe_text(2)?.map(parse).transpose()?;
                if loaded.user.is_some() {
                    /// A grant as the lookup aggregates it.
                    #[derive(serde::Deserialize)]
                    struct Stored {
                        company: String,
                        expires_at: Option<i64>,
                    }
                    let grants: Vec<Stored> = row
                        .maybe_text(3)?
                        .map(parse)
                        .transpose()?
                        .unwrap_or_default();
                    loaded.grants = grants
                        .iter()
                        .map(|g| {
                            let expires_at = match g.expires_at {
                                None => None,
                                Some(secs) => Some(
                                    OffsetDateTime::from_unix_timestamp(secs)
                                        .map_err(|_| super::corrupt("a grant's end"))?,
                                ),
                            };
                            Ok(Grant {
                                company: company_id(&g.company)?,
                                expires_at,
                            })
                        })
                        .collect::<Result<_, StoreError>>()?;
                }
                // The company's own definition of the user's custom role, if any.
                if let (Some(user), Some(text)) = (&loaded.user, row.maybe_text(4)?) {
                    loaded.custom_role = Some(company_role(&user.company, text)?);
                }
                // The user's company, read in the same snapshot: the guard asks no
                // more for a request in it.
                if let (Some(_), Some(tier)) = (&loaded.user, row.maybe_text(5)?) {
                    loaded.company = Some(CompanyInfo {
                        tier: tier.parse().map_err(err)?,
                        parent: row.maybe_text(6)?.map(company_id).transpose()?,
                    });
                }
                Ok(loaded)
            })
        })
        .await
    }

    /// A company's tier and parent, read from the store.
    async fn read_company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        let id = id.clone();
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move {
                let Some(row) = tx.row(&q::COMPANY, args![id.as_str()]).await? else {
                    return Ok(None);
                };
                Ok(Some(CompanyInfo {
                    tier: row.text(0)?.parse().map_err(err)?,
                    parent: row.maybe_text(1)?.map(company_id).transpose()?,
                }))
            })
        })
        .await
    }

    /// Runs `f` on `company`'s budget, and `key`'s when given, in the store, locked
    /// from the read to the commit.
    async fn locked_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        mut f: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        let company = company.clone();
        let key = key.cloned();
        let fresh = json(&LimitState::default())?;
        // The budgets are locked from the read to the commit: two servers charging
        // one company (or one key) take turns, so each is spent exactly. Every
        // transaction locks the company's row first and its key's second, so two
        // never wait on each other in a cycle.
        self.transaction_uncached(Mode::Write, move |tx| {
            Box::pin(async move {
                let mut state = stored_state(tx, &q::LOCK_BUDGET, company.as_str(), &fresh).await?;
                let before = state;
                let Some(key) = key else {
                    let result = f(&mut state, None);
                    if state != before {
                        tx.execute(&q::SET_BUDGET, args![company.as_str(), &json(&state)?])
                            .await?;
                    }
                    return Ok(result);
                };
                let mut key_state =
                    stored_state(tx, &q::LOCK_KEY_BUDGET, key.as_str(), &fresh).await?;
                let key_before = key_state;
                let result = f(&mut state, Some(&mut key_state));
                match (state != before, key_state != key_before) {
                    (true, true) => {
                        let (c, k) = (json(&state)?, json(&key_state)?);
                        tx.execute(
                            &q::SET_BOTH_BUDGETS,
                            args![company.as_str(), &c, key.as_str(), &k],
                        )
                        .await?;
                    }
                    (true, false) => {
                        tx.execute(&q::SET_BUDGET, args![company.as_str(), &json(&state)?])
                            .await?;
                    }
                    (false, true) => {
                        tx.execute(&q::SET_KEY_BUDGET, args![key.as_str(), &json(&key_state)?])
                            .await?;
                    }
                    (false, false) => {}
                }
                Ok(result)
            })
        })
        .await
    }

    /// The budget of `payer` as last written to the store (a fresh one if none was).
    async fn stored_budget(&self, payer: &Payer) -> Result<LimitState, StoreError> {
        let (read, id) = match payer {
            Payer::Company(c) => (&q::BUDGET, c.as_str().to_owned()),
            Payer::Key(k) => (&q::KEY_BUDGET, k.as_str().to_owned()),
        };
        let fresh = json(&LimitState::default())?;
        self.transaction_uncached(Mode::Single, move |tx| {
            Box::pin(async move { stored_state(tx, read, &id, &fresh).await })
        })
        .await
    }
}

impl AuthStore for Db {
    async fn load(&self, digest: &CredentialDigest) -> Result<Arc<Loaded>, StoreError> {
        if let Some(shared) = self.shared() {
            // The generation before anything is read (`db/shared.rs`).
            let generation = shared.redis.records_generation().await?;
            let Some(generation) = generation else {
                return Ok(Arc::new(self.read_load(digest).await?));
            };
            let begun = (shared.clock)();
            if let Some(hit) = shared.cache.load(&generation, digest, begun) {
                return Ok(hit);
            }
            let loaded = Arc::new(self.read_load(digest).await?);
            shared.cache.keep_load(&generation, *digest, &loaded, begun);
            return Ok(loaded);
        }
        let Some(local) = self.local() else {
            return Ok(Arc::new(self.read_load(digest).await?));
        };
        if let Some(hit) = local.cache.load(digest) {
            return Ok(hit);
        }
        let ticket = local.cache.ticket();
        let loaded = Arc::new(self.read_load(digest).await?);
        local.cache.keep_load(ticket, *digest, &loaded);
        Ok(loaded)
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        if let Some(shared) = self.shared() {
            let generation = shared.redis.records_generation().await?;
            let Some(generation) = generation else {
                return self.read_company(id).await;
            };
            let begun = (shared.clock)();
            if let Some(hit) = shared.cache.company(&generation, id, begun) {
                return Ok(Some(hit));
            }
            let info = self.read_company(id).await?;
            if let Some(info) = &info {
                shared
                    .cache
                    .keep_company(&generation, id.clone(), info, begun);
            }
            return Ok(info);
        }
        let Some(local) = self.local() else {
            return self.read_company(id).await;
        };
        if let Some(hit) = local.cache.company(id) {
            return Ok(Some(hit));
        }
        let ticket = local.cache.ticket();
        let info = self.read_company(id).await?;
        if let Some(info) = &info {
            local.cache.keep_company(ticket, id.clone(), info);
        }
        Ok(info)
    }

    async fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        mut f: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        let Some(local) = self.local() else {
            return self.locked_budget(company, key, f).await;
        };
        // In memory, written with the audit log's next commit (`db/local.rs`).
        if let Some(r) = local.budgets.charge(company, key, &mut f) {
            return Ok(r);
        }
        for payer in local.budgets.missing(company, key) {
            let stored = self.stored_budget(&payer).await?;
            local.budgets.hold(payer, stored);
        }
        local.budgets.charge(company, key, &mut f).ok_or_else(|| {
            StoreError::new(
                pw_auth_axum::StoreErrorKind::Internal,
                "a budget read from the file was not held",
            )
        })
    }
    async fn with_failures<R, F>(&self, keys: Vec<String>, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        let fresh = json(&LimitState::default())?;
        self.transaction_uncached(Mode::Write, move |tx| {
            Box::pin(async move {
                // Rows locked in one order (sorted), so two updates never wait on each
                // other in a cycle; the states are then handed over in the caller's
                // order.
                let mut order: Vec<usize> = (0..keys.len()).collect();
                order.sort_by(|&a, &b| keys.get(a).cmp(&keys.get(b)));
                let mut states = vec![LimitState::default(); keys.len()];
                for &i in &order {
                    if let (Some(key), Some(slot)) = (keys.get(i), states.get_mut(i)) {
                        *slot = stored_state(tx, &q::LOCK_FAILURES, key, &fresh).await?;
                    }
                }
                let before = states.clone();
                let result = f(&mut states);
                for ((key, state), old) in keys.iter().zip(&states).zip(&before) {
                    if state != old {
                        tx.execute(&q::SET_FAILURES, args![key, &json(state)?])
                            .await?;
                    }
                }
                Ok(result)
            })
        })
        .await
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        // Group commit (`db/batch.rs`): answered once the commit that holds it is done.
        self.audit
            .append(Entry {
                text: json(record)?,
                time: unix(record.time),
                aggregate: aggregate_key(record),
                columns: Columns::of(record),
            })
            .await
    }
}
