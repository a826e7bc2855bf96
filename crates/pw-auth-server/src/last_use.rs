//! When each API key was last used, at minute resolution, written behind: a request
//! only notes its key in memory (the first use of a key in a minute queues one write,
//! every later one in that minute nothing), and a task of its own writes the queue to
//! the records in batches. Never a write on the request path, at most one write per
//! key per minute, bounded memory: a hint for finding unused keys, never a record a
//! decision reads.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use pw_auth_core::ApiKeyId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Clock;
use crate::db::Db;

/// The most keys noted in one minute; further keys that minute are not recorded (a
/// hint lost is better than memory without bound).
pub(crate) const KEYS_PER_MINUTE: usize = 65_536;
/// The most writes waiting; a full queue drops the newest (the request goes on).
const QUEUE: usize = 4_096;
/// The most writes in one transaction.
const BATCH: usize = 256;

/// The keys used in the current minute.
#[derive(Debug, Default)]
struct Noted {
    /// The minute's start, in Unix seconds.
    minute: i64,
    keys: HashSet<ApiKeyId>,
}

/// The requests' side: notes each key's use, queueing a write for its first use in a
/// minute.
pub(crate) struct KeyUses {
    clock: Arc<Clock>,
    noted: Mutex<Noted>,
    queue: mpsc::Sender<(ApiKeyId, i64)>,
}

impl std::fmt::Debug for KeyUses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyUses").finish_non_exhaustive()
    }
}

/// The start of the minute `unix` falls in.
fn minute_of(unix: i64) -> i64 {
    unix.div_euclid(60).checked_mul(60).unwrap_or(unix)
}

impl KeyUses {
    /// A recorder on `clock`, and the task that writes what it queues to `db` (it
    /// ends once every recorder is dropped and the queue is written), calling
    /// `wrote` with each batch's count of statements.
    pub(crate) fn start(
        clock: Arc<Clock>,
        db: Db,
        wrote: impl Fn(usize) + Send + 'static,
    ) -> (Arc<KeyUses>, JoinHandle<()>) {
        let (queue, mut queued) = mpsc::channel::<(ApiKeyId, i64)>(QUEUE);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while queued.recv_many(&mut batch, BATCH).await > 0 {
                // A failed write loses a hint; the next minute's use writes again.
                if let Ok(n) = db.touch_keys(std::mem::take(&mut batch)).await {
                    wrote(n);
                }
            }
        });
        let uses = KeyUses {
            clock,
            noted: Mutex::new(Noted::default()),
            queue,
        };
        (Arc::new(uses), writer)
    }

    /// Notes a use of `key` now.
    pub(crate) fn note(&self, key: &ApiKeyId) {
        let minute = minute_of((self.clock)().unix_timestamp());
        {
            let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
            if noted.minute != minute {
                noted.minute = minute;
                noted.keys.clear();
            }
            if noted.keys.len() >= KEYS_PER_MINUTE || noted.keys.contains(key) {
                return;
            }
            noted.keys.insert(key.clone());
        }
        // A full queue drops the hint rather than hold the request.
        let _ = self.queue.try_send((key.clone(), minute));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    /// Notes on a clock the test moves, writes into a fresh SQLite file: a thousand
    /// uses of a key in a minute write once, another key once more, the next minute
    /// once more each; the writer ends, its queue written, when the notes are dropped.
    #[tokio::test]
    async fn a_key_is_written_once_a_minute_and_the_queue_is_written_at_the_end() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pw-auth-uses-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let db = Db::open_sqlite(&dir.join("records.sqlite"), crate::AuditSync::Normal).unwrap();
        let acme = pw_auth_core::CompanyId::new("acme").unwrap();
        db.add_company(acme.clone(), pw_auth_core::Tier::Standard, None)
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (n, label) in ["a", "b"].into_iter().enumerate() {
            let random: Vec<u8> = (1..=16).map(|b: u8| b + u8::try_from(n).unwrap()).collect();
            let at = time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
            let m = pw_auth_core::mint_api_key(
                &acme,
                pw_auth_core::KeyLabel::new(label).unwrap(),
                &random,
                at,
            )
            .unwrap();
            ids.push(m.record.id.clone());
            db.add_key(m.record, m.user).await.unwrap();
        }
        let unix = Arc::new(AtomicI64::new(1_795_000_000));
        let clock: Arc<Clock> = {
            let unix = Arc::clone(&unix);
            Arc::new(move || {
                time::OffsetDateTime::from_unix_timestamp(unix.load(Ordering::SeqCst)).unwrap()
            })
        };
        let written = Arc::new(AtomicUsize::new(0));
        let (uses, writer) = {
            let written = Arc::clone(&written);
            KeyUses::start(clock, db.clone(), move |n| {
                written.fetch_add(n, Ordering::SeqCst);
            })
        };
        for _ in 0..1000 {
            uses.note(&ids[0]);
        }
        uses.note(&ids[1]);
        unix.fetch_add(60, Ordering::SeqCst);
        uses.note(&ids[0]);
        uses.note(&ids[0]);
        drop(uses);
        writer.await.unwrap();
        assert_eq!(written.load(Ordering::SeqCst), 3);
        let keys = db.keys_of(acme).await.unwrap();
        let used = |id: &ApiKeyId| {
            keys.iter()
                .find(|(k, _)| &k.id == id)
                .and_then(|(_, t)| *t)
                .map(|t| t.unix_timestamp())
        };
        assert_eq!(used(&ids[0]), Some(1_795_000_020), "the later minute");
        assert_eq!(used(&ids[1]), Some(1_794_999_960), "its own minute");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_minute_starts_on_its_zeroth_second() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(59), 0);
        assert_eq!(minute_of(60), 60);
        assert_eq!(minute_of(1_795_000_000), 1_794_999_960);
        assert_eq!(minute_of(-1), -60);
        assert_eq!(minute_of(i64::MIN), i64::MIN);
    }
}
