//! The limiter states on Redis, shared by every server: each company's usage budget
//! and each client's failure budget, one small value per key.
//!
//! The decision stays in the core: a server reads the state, runs the core's pure
//! check on it, and writes the new state back only if the stored one is still the one
//! it read — a compare-and-set, done by a short script that compares and writes and
//! knows nothing of limits. When another server wrote first, the script hands back
//! what it found and the check runs again on that. So no request is admitted on a
//! state another request already spent, and there is no second implementation of the
//! limiter to keep equal to the core's (`docs/design.md`, "Shared state").
//!
//! Within one server the keys are spread over stripes, each with a task that stores
//! its charges in turn (`Combiner`), so only servers contend with each other. The
//! charges of one key that queued while its last compare-and-set was on its way are
//! run one after another and stored by one compare-and-set: a company's requests
//! share round trips instead of waiting for one each. The values a stripe stored last
//! are tried without reading them first: one round trip for the charges a turn takes,
//! unless another server wrote between.
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
use tokio::sync::{mpsc, oneshot};

use crate::db::{err, gather, json, parse};

/// Compares the values stored at `KEYS` (one company's budget, with its key's own when
/// it has one, or the failure budgets of one login): compares every stored value with
/// ARGV[i] (`""`: no value) and, if all are equal, stores each ARGV[n + i] that
/// differs (expiring a day after its last charge when ARGV[2n + 1] = "1"), and answers
/// `{1, {}}`; if one differs, answers `{0, {every stored value}}`. Run as one script,
/// so no other command runs between the comparison and the writes.
const COMPARE_AND_SET: &str = r"
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

/// How many stripes (each with its task) the keys are spread over (a key's stripe: a
/// hash of it).
const STRIPES: usize = 64;

/// The queue of one stripe's task ([`Combiner`]).
type Stripe = mpsc::Sender<Job>;

/// How many charges may wait for one stripe's task; past that a request waits for room.
const QUEUE: usize = 1024;

/// The most charges one turn of a stripe's task takes.
const MAX_COMBINED: usize = 256;

/// How many times a check is run again after losing a compare-and-set before the
/// request is refused (503).
const MAX_ATTEMPTS: u32 = 200;

/// How long a command may take, a connection attempt, the wait for room in a stripe's
/// queue, and then for the charge to be stored: past it the request is refused (503)
/// rather than kept waiting.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The limiter states on Redis. Cheap to clone (one multiplexed connection that
/// reconnects after Redis restarts).
#[derive(Clone)]
pub struct RedisLimits {
    conn: ConnectionManager,
    prefix: String,
    /// The queues of the stripes' tasks: the charges of keys in one stripe are stored
    /// by its task, in turn.
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
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            StoreError::new(
                StoreErrorKind::Internal,
                "Redis used outside a Tokio runtime",
            )
            .caused_by(e)
        })?;
        Ok(RedisLimits {
            prefix: prefix.to_owned(),
            stripes: (0..STRIPES)
                .map(|_| {
                    let (queue, jobs) = mpsc::channel(QUEUE);
                    let combiner = Combiner {
                        conn: conn.clone(),
                        script: Script::new(COMPARE_AND_SET),
                        last: None,
                    };
                    // Ends when the last handle (and with it the queue) is dropped.
                    runtime.spawn(combiner.run(jobs));
                    queue
                })
                .collect(),
            conn,
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

    /// The stripe whose task stores the charges of `key` on this server.
    fn stripe(&self, key: &str) -> Option<&Stripe> {
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let n = self.stripes.len();
        let i = usize::try_from(h.finish()).unwrap_or(0).checked_rem(n)?;
        self.stripes.get(i)
    }

    /// Runs `f` on the states at `keys` (full Redis keys, the first naming the stripe
    /// whose task runs it) until its result is stored on the states it read, each
    /// expiring a day after its last charge if `expires`: handed to the stripe's task,
    /// which stores it with every other charge of the same keys that queued meanwhile
    /// ([`Combiner`]).
    async fn update<R, F>(&self, keys: Vec<String>, expires: bool, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        let stripe = keys.first().and_then(|k| self.stripe(k)).ok_or_else(|| {
            StoreError::new(StoreErrorKind::Internal, "no stripe for the limiter keys")
        })?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            keys,
            expires,
            charge: Box::new(Pending {
                f,
                last: None,
                reply,
            }),
        };
        // A turn that does not come within the timeout (Redis hanging, requests queued
        // behind it) is a refusal too, not an ever-longer queue. A charge whose request
        // stopped waiting before its turn is left out of it; one already on its way to
        // Redis is stored (charged, as a request dropped after its charge always was).
        let busy = || StoreError::new(StoreErrorKind::Busy, "the limiter key stayed busy");
        let stopped = || StoreError::new(StoreErrorKind::Internal, "the limiter has stopped");
        tokio::time::timeout(TIMEOUT, stripe.send(job))
            .await
            .map_err(|_| busy())?
            .map_err(|_| stopped())?;
        tokio::time::timeout(TIMEOUT, answer)
            .await
            .map_err(|_| busy())?
            .map_err(|_| stopped())?
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
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        let keys = match key {
            Some(key) => vec![self.budget_key(company), self.key_budget_key(key)],
            None => vec![self.budget_key(company)],
        };
        self.update(keys, false, move |states| match states {
            [company] => Some(f(company, None)),
            [company, key] => Some(f(company, Some(key))),
            _ => None,
        })
        .await?
        .ok_or_else(|| StoreError::new(StoreErrorKind::Internal, "the budgets were not read"))
    }

    /// Runs `f` on the failure budgets at `keys` until its result is stored on the
    /// states it read: a compare-and-set of them all.
    pub async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        let keys: Vec<String> = keys.iter().map(|k| self.failure_key(k)).collect();
        self.update(keys, true, f).await
    }
}

/// A charge waiting for its stripe's task: the check it runs, the result of its last
/// run, and where that result goes once its states are stored.
trait Charge: Send {
    /// Runs the check on `states`, leaving its new states there and keeping its result.
    fn run(&mut self, states: &mut [LimitState]);
    /// Answers the waiting request: the result of the last run when `outcome` is that
    /// its states were stored, else the error.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
    /// Whether the request stopped waiting (its client went away, or it timed out).
    fn abandoned(&self) -> bool;
}

/// A [`Charge`] of `f`, answering with its result.
struct Pending<R, F> {
    f: F,
    last: Option<R>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<R, F> Charge for Pending<R, F>
where
    R: Send + 'static,
    F: FnMut(&mut [LimitState]) -> R + Send + 'static,
{
    fn run(&mut self, states: &mut [LimitState]) {
        self.last = Some((self.f)(states));
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Pending { last, reply, .. } = *self;
        let result = outcome.and_then(|()| {
            last.ok_or_else(|| StoreError::new(StoreErrorKind::Internal, "a charge never ran"))
        });
        // A request that stopped waiting needs no answer.
        let _ = reply.send(result);
    }

    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

/// One charge of the states at `keys`.
struct Job {
    keys: Vec<String>,
    expires: bool,
    charge: Box<dyn Charge>,
}

/// The task of one stripe of keys: takes the charges that queued up, and stores those
/// of the same keys together — each run, in the order they came, on the states the one
/// before left, and the last states written by one compare-and-set — then answers
/// them. When one company's requests arrive faster than Redis answers, they share
/// round trips instead of queueing for one each; the states stored are those the
/// charges made one after another, so every request is charged, and decided, as if
/// alone. A compare-and-set that finds another server wrote first runs them all again
/// on what it left.
struct Combiner {
    conn: ConnectionManager,
    script: Script,
    /// The keys this stripe stored last and their values: tried first, saving a read;
    /// the compare-and-set checks they are current.
    last: Option<(Vec<String>, Vec<String>)>,
}

impl Combiner {
    /// Until every handle on the stripe is dropped: takes what queued (at least one
    /// charge, at most [`MAX_COMBINED`]), stores each group of the same keys, answers.
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(first) = jobs.recv().await {
            for mut group in groups(gather(first, &mut jobs, MAX_COMBINED)) {
                let outcome = self
                    .store(&group.keys, group.expires, &mut group.charges)
                    .await;
                for charge in group.charges {
                    charge.finish(outcome.clone());
                }
            }
        }
    }

    /// Runs `charges` one after another on the states at `keys` until what they leave
    /// is stored on the states they ran on.
    async fn store(
        &mut self,
        keys: &[String],
        expires: bool,
        charges: &mut [Box<dyn Charge>],
    ) -> Result<(), StoreError> {
        let cached = self
            .last
            .as_ref()
            .filter(|(k, _)| k.as_slice() == keys)
            .map(|(_, v)| v.clone());
        let (mut stored, mut fresh) = match cached {
            Some(values) => (values, false),
            None => (self.read(keys).await?, true),
        };
        for _ in 0..MAX_ATTEMPTS {
            let mut states = stored
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Ok(LimitState::default())
                    } else {
                        parse(v)
                    }
                })
                .collect::<Result<Vec<LimitState>, StoreError>>()?;
            let before = states.clone();
            for charge in charges.iter_mut() {
                charge.run(&mut states);
            }
            if states == before {
                if fresh {
                    // Nothing to write: the results stand on the states as read.
                    return Ok(());
                }
                // Decided on the remembered values, which another server may have
                // changed since: decide again on what Redis holds.
                stored = self.read(keys).await?;
                fresh = true;
                continue;
            }
            let mut new = Vec::with_capacity(states.len());
            for ((state, before), old) in states.iter().zip(&before).zip(&stored) {
                new.push(if state == before {
                    old.clone()
                } else {
                    json(state)?
                });
            }
            let mut invocation = self.script.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            for value in stored.iter().chain(&new) {
                invocation.arg(value);
            }
            invocation.arg(if expires { "1" } else { "0" });
            let mut conn = self.conn.clone();
            let (done, current): (i64, Vec<String>) =
                invocation.invoke_async(&mut conn).await.map_err(err)?;
            if done == 1 {
                self.last = Some((keys.to_vec(), new));
                return Ok(());
            }
            // Another server wrote first: decide again on what it left.
            stored = current;
            fresh = true;
        }
        Err(StoreError::new(
            StoreErrorKind::Busy,
            format!("the limiter states stayed contended for {MAX_ATTEMPTS} attempts"),
        ))
    }

    /// The values at `keys` (`""` where there is none).
    async fn read(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(values.into_iter().map(Option::unwrap_or_default).collect())
    }
}

/// The charges of one turn that charge the same keys, in the order they came.
struct Group {
    keys: Vec<String>,
    expires: bool,
    charges: Vec<Box<dyn Charge>>,
}

/// The charges of `batch` (those whose request still waits) gathered by the keys they
/// charge, in the order each group's first came.
fn groups(batch: Vec<Job>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for job in batch {
        if job.charge.abandoned() {
            continue;
        }
        match groups
            .iter_mut()
            .find(|g| g.keys == job.keys && g.expires == job.expires)
        {
            Some(group) => group.charges.push(job.charge),
            None => groups.push(Group {
                keys: job.keys,
                expires: job.expires,
                charges: vec![job.charge],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn job(keys: &[&str], expires: bool) -> (Job, oneshot::Receiver<Result<usize, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let n = keys.len();
        let job = Job {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            expires,
            charge: Box::new(Pending {
                f: move |_: &mut [LimitState]| n,
                last: None,
                reply,
            }),
        };
        (job, answer)
    }

    /// A turn's charges are grouped by the keys (and expiry) they charge, each group
    /// in the order its first came and its charges in theirs; a charge whose request
    /// stopped waiting is left out.
    #[test]
    fn a_turn_groups_its_charges_by_keys_in_order_and_leaves_out_the_abandoned() {
        let (a1, _r1) = job(&["a"], false);
        let (b1, _r2) = job(&["b", "k"], false);
        let (gone, r3) = job(&["a"], false);
        drop(r3);
        let (a2, _r4) = job(&["a"], false);
        let (a_expiring, _r5) = job(&["a"], true);
        let (b2, _r6) = job(&["b", "k"], false);
        let seen: Vec<(Vec<String>, bool, usize)> = groups(vec![a1, b1, gone, a2, a_expiring, b2])
            .into_iter()
            .map(|g| (g.keys, g.expires, g.charges.len()))
            .collect();
        let key = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            seen,
            [
                (key(&["a"]), false, 2),
                (key(&["b", "k"]), false, 2),
                (key(&["a"]), true, 1),
            ]
        );
    }

    /// A charge answers with the result of its last run once its states are stored,
    /// the store's error otherwise, and an error if it never ran.
    #[test]
    fn a_charge_answers_its_last_run_or_the_error() {
        let (mut stored, answer) = job(&["a", "b"], false);
        stored.charge.run(&mut []);
        stored.charge.finish(Ok(()));
        assert_eq!(answer.blocking_recv().unwrap().unwrap(), 2);

        let (mut failed, answer) = job(&["a"], false);
        failed.charge.run(&mut []);
        failed
            .charge
            .finish(Err(StoreError::new(StoreErrorKind::Unavailable, "redis")));
        assert_eq!(
            answer.blocking_recv().unwrap().unwrap_err().kind(),
            StoreErrorKind::Unavailable
        );

        let (never, answer) = job(&["a"], false);
        assert!(!never.charge.abandoned());
        never.charge.finish(Ok(()));
        assert_eq!(
            answer.blocking_recv().unwrap().unwrap_err().kind(),
            StoreErrorKind::Internal
        );
    }
}
