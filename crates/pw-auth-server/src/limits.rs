//! The limiter states on Redis, shared by every server: each company's usage budget
//! and each client's failure budget, one small value per key.
//!
//! The decision stays in the core: a server reads the state, runs the core's pure
//! check on it, and writes the new state back only if the stored one is still the one
//! it read — a compare-and-set, done by a short script that compares and writes and
//! knows nothing of limits. When another server wrote first, the script hands back
//! what it found and the check runs again on that. So no request is admitted on a
//! state another request already spent, and there is no second implementation of the
//! limiter to keep equal to the core's (`docs/design.md`, "Shared state"). Within one
//! server, updates of one key take turns (a lock per key stripe), so only servers
//! contend with each other, and the value a server stored last is tried without
//! reading it first: one round trip per request unless another server wrote between.
//!
//! Redis unreachable, too slow, or too contended: the request is refused (503), never
//! let through unlimited.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use pw_auth_axum::{StoreError, StoreErrorKind};
use pw_auth_core::{ApiKeyId, CompanyId, LimitState};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use crate::db::{err, json, parse};

/// Compares the stored value with ARGV[1] (`""`: no value) and, if equal, stores
/// ARGV[2] and answers `{1, ''}`; if not, answers `{0, stored}`. Failure budgets
/// (ARGV[3] = "1") expire a day after their last charge.
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return {0, current} end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[2], 'EX', 86400)
else redis.call('SET', KEYS[1], ARGV[2]) end
return {1, ''}
";

/// The same for several keys at once (the failure budgets of one login, or a
/// company's budget with its key's own): compares every stored value with ARGV[i]
/// and, if all are equal, stores each ARGV[n + i] that differs (expiring a day after
/// its last charge when ARGV[2n + 1] = "1"), and answers `{1, {}}`; if one differs,
/// answers `{0, {every stored value}}`. Run as one script, so no other command runs
/// between the comparison and the writes.
const COMPARE_AND_SET_MANY: &str = r"
local n = #KEYS
local current = {}
local same = true
for i = 1, n do
  current[i] = redis.call('GET', KEYS[i]) or ''
  if current[i] ~= ARGV[i] then same = false end
end
if not same then return {0, current} end
for i = 1, n do
  if ARGV[n + i] ~= ARGV[i] then
    if ARGV[2 * n + 1] == '1' then redis.call('SET', KEYS[i], ARGV[n + i], 'EX', 86400)
    else redis.call('SET', KEYS[i], ARGV[n + i]) end
  end
end
return {1, {}}
";

/// Bumps the records' generation (`KEYS[1]`) and answers the new one. A missing
/// generation (a fresh Redis, or one that lost its data) starts from `ARGV[1]`, a
/// random number, so no generation read before can come round again.
const BUMP_GENERATION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
";

/// How many locks the keys are spread over (a key's stripe: a hash of it).
const STRIPES: usize = 64;

/// One stripe's turn, and the key and value it stored last.
type Stripe = tokio::sync::Mutex<Option<(String, String)>>;

/// How many times a check is run again after losing a compare-and-set before the
/// request is refused (503).
const MAX_ATTEMPTS: u32 = 200;

/// How long a command may take, a connection attempt, and the wait for a key's turn:
/// past it the request is refused (503) rather than kept waiting.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The limiter states on Redis. Cheap to clone (one multiplexed connection that
/// reconnects after Redis restarts).
#[derive(Clone)]
pub struct RedisLimits {
    conn: ConnectionManager,
    script: Script,
    many: Script,
    prefix: String,
    /// Updates of keys in one stripe take turns; each stripe remembers the value it
    /// last stored (key, value).
    stripes: Arc<[Stripe]>,
}

impl fmt::Debug for RedisLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("RedisLimits")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLimits {
    /// Connects to Redis at `url` (`redis://[:password@]host:port[/db]`). Every key
    /// starts with `prefix` (so several deployments can share one Redis).
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisLimits, StoreError> {
        RedisLimits::connect_with_ca(url, prefix, None).await
    }

    /// [`RedisLimits::connect`]; a `rediss://` URL is TLS, the server's certificate
    /// verified against the CA certificates of the PEM file `ca` when given, or else
    /// the system's roots.
    pub async fn connect_with_ca(
        url: &str,
        prefix: &str,
        ca: Option<&std::path::Path>,
    ) -> Result<RedisLimits, StoreError> {
        let client = match ca {
            Some(ca) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(crate::tls::ca_pem(ca)?),
                },
            ),
            None => redis::Client::open(url),
        }
        .map_err(err)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(TIMEOUT))
            .set_connection_timeout(Some(TIMEOUT))
            // Reconnects are tried in the background; a request never waits for more
            // than one attempt.
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(err)?;
        Ok(RedisLimits {
            conn,
            script: Script::new(COMPARE_AND_SET),
            many: Script::new(COMPARE_AND_SET_MANY),
            prefix: prefix.to_owned(),
            stripes: (0..STRIPES)
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
        })
    }

    fn budget_key(&self, company: &CompanyId) -> String {
        format!("{}budget:{}", self.prefix, company.as_str())
    }

    fn key_budget_key(&self, key: &ApiKeyId) -> String {
        format!("{}key-budget:{}", self.prefix, key.as_str())
    }

    fn failure_key(&self, key: &str) -> String {
        format!("{}failures:{key}", self.prefix)
    }

    fn generation_key(&self) -> String {
        format!("{}records-generation", self.prefix)
    }

    /// The records' generation, bumped by every server after each change of a record
    /// (`db/shared.rs`); `None` before the first bump.
    pub(crate) async fn records_generation(&self) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get(self.generation_key()).await.map_err(err)
    }

    /// Bumps the records' generation (after a change of a record has committed):
    /// from `start` if there is none yet.
    pub(crate) async fn bump_records_generation(&self, start: u64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        // Made here rather than kept: it runs once a change, not once a request.
        let _now: i64 = Script::new(BUMP_GENERATION)
            .key(self.generation_key())
            .arg(start)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Whether Redis answers (`PING`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn read(&self, key: &str) -> Result<String, StoreError> {
        let mut conn = self.conn.clone();
        let stored: Option<String> = conn.get(key).await.map_err(err)?;
        Ok(stored.unwrap_or_default())
    }

    /// The lock that updates of `key` on this server take turns on.
    fn stripe(&self, key: &str) -> Option<&Stripe> {
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let n = self.stripes.len();
        let i = usize::try_from(h.finish()).unwrap_or(0).checked_rem(n)?;
        self.stripes.get(i)
    }

    /// Runs `f` on the state at `key` until its result is stored on the state it read.
    async fn update<R, F>(&self, key: String, expires: bool, mut f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut LimitState) -> R,
    {
        let stripe = self.stripe(&key).ok_or_else(|| {
            StoreError::new(StoreErrorKind::Internal, "no lock for the limiter key")
        })?;
        // A turn that does not come within the timeout (Redis hanging, requests
        // queued behind it) is a refusal too, not an ever-longer queue.
        let mut last = tokio::time::timeout(TIMEOUT, stripe.lock())
            .await
            .map_err(|_| StoreError::new(StoreErrorKind::Busy, "the limiter key stayed busy"))?;
        // The value this server last stored at `key`, if it is the stripe's last key:
        // tried first, it saves the read; the compare-and-set checks it is current.
        let cached = last
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone());
        let (mut stored, mut fresh) = match cached {
            Some(v) => (v, false),
            None => (self.read(&key).await?, true),
        };
        for _ in 0..MAX_ATTEMPTS {
            let mut state = if stored.is_empty() {
                LimitState::default()
            } else {
                parse(&stored)?
            };
            let before = state;
            let result = f(&mut state);
            if state == before {
                if fresh {
                    // Nothing to write: the result stands on the state as read.
                    return Ok(result);
                }
                // Decided on the remembered value, which another server may have
                // changed since: decide again on what Redis holds.
                stored = self.read(&key).await?;
                fresh = true;
                continue;
            }
            let new = json(&state)?;
            let mut conn = self.conn.clone();
            let answer: (i64, String) = self
                .script
                .key(&key)
                .arg(&stored)
                .arg(&new)
                .arg(if expires { "1" } else { "0" })
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            match answer {
                (1, _) => {
                    *last = Some((key, new));
                    return Ok(result);
                }
                // Another server wrote first: run the check again on what it left.
                (_, current) => {
                    stored = current;
                    fresh = true;
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Busy,
            format!("the limiter state stayed contended for {MAX_ATTEMPTS} attempts"),
        ))
    }

    /// Runs `f` on `company`'s usage budget, and `key`'s own when given, and stores
    /// what it leaves: both in one compare-and-set script when there is a key.
    pub async fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        mut f: F,
    ) -> Result<R, StoreError>
    where
        R: Send,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send,
    {
        let Some(key) = key else {
            return self
                .update(self.budget_key(company), false, |s| f(s, None))
                .await;
        };
        let keys = vec![self.budget_key(company), self.key_budget_key(key)];
        self.update_many(keys, false, move |states| match states {
            [company, key] => Some(f(company, Some(key))),
            _ => None,
        })
        .await?
        .ok_or_else(|| StoreError::new(StoreErrorKind::Internal, "two budgets were not read"))
    }

    /// Runs `f` on the failure budgets at `keys` until its result is stored on the
    /// states it read: one read of them all, then a compare-and-set of them all.
    pub async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut [LimitState]) -> R + Send,
    {
        let keys: Vec<String> = keys.iter().map(|k| self.failure_key(k)).collect();
        self.update_many(keys, true, f).await
    }

    /// Runs `f` on the states at `keys` (full Redis keys) until its result is stored
    /// on the states it read, each expiring a day after its last charge if `expires`.
    async fn update_many<R, F>(
        &self,
        keys: Vec<String>,
        expires: bool,
        mut f: F,
    ) -> Result<R, StoreError>
    where
        F: FnMut(&mut [LimitState]) -> R + Send,
    {
        let parse_all = |values: &[String]| -> Result<Vec<LimitState>, StoreError> {
            values
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Ok(LimitState::default())
                    } else {
                        parse(v)
                    }
                })
                .collect()
        };
        let mut stored: Vec<String> = {
            let mut conn = self.conn.clone();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            values.into_iter().map(Option::unwrap_or_default).collect()
        };
        for _ in 0..MAX_ATTEMPTS {
            let mut states = parse_all(&stored)?;
            let before = states.clone();
            let result = f(&mut states);
            if states == before {
                // Nothing to write: the result stands on the states as read.
                return Ok(result);
            }
            let mut invocation = self.many.prepare_invoke();
            for key in &keys {
                invocation.key(key);
            }
            for old in &stored {
                invocation.arg(old);
            }
            for (state, old) in states
                .iter()
                .zip(&before)
                .zip(&stored)
                .map(|((s, b), o)| (s, (b, o)))
            {
                let (before, old) = old;
                if state == before {
                    invocation.arg(old);
                } else {
                    invocation.arg(json(state)?);
                }
            }
            invocation.arg(if expires { "1" } else { "0" });
            let mut conn = self.conn.clone();
            let (done, current): (i64, Vec<String>) =
                invocation.invoke_async(&mut conn).await.map_err(err)?;
            if done == 1 {
                return Ok(result);
            }
            // Another server wrote first: decide again on what it left.
            stored = current;
        }
        Err(StoreError::new(
            StoreErrorKind::Busy,
            format!("the limiter states stayed contended for {MAX_ATTEMPTS} attempts"),
        ))
    }
}
