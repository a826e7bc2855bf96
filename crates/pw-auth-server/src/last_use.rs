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
    use super::*;

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
