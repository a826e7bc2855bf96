//! Password hashing on a pool of its own, bounded by a memory budget.
//!
//! An argon2id verification with the recommended parameters holds 19 MiB for tens of
//! milliseconds. Run on the store's blocking pool (up to 512 threads, then an
//! unbounded queue), a burst of logins without any credentials could take gigabytes
//! and stall every store call behind it. Here verifications run on a fixed set of
//! threads — as many as the memory budget allows — with a bounded queue in front;
//! when the queue is full the login is refused at once (503 with `Retry-After`),
//! never queued without bound. Store calls keep their own pool.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::{Argon2, PasswordVerifier};
use pw_auth_core::Password;

/// The memory one verification holds: argon2's recommended `m_cost` (19 MiB).
pub const BYTES_PER_HASH: usize = (argon2::Params::DEFAULT_M_COST as usize).saturating_mul(1024);

/// How password hashing is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// The memory all verifications together may hold; the pool runs
    /// `memory / BYTES_PER_HASH` of them at once (at least one). 128 MiB by default:
    /// six at once, which keeps two cores busy.
    pub memory: usize,
    /// How many verifications may wait for a thread; more are refused (503). 32 by
    /// default: at about 50 ms a verification on two cores, under a second of waiting.
    pub queue: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        HashingLimits {
            memory: 128 * 1024 * 1024,
            queue: 32,
        }
    }
}

impl HashingLimits {
    /// How many verifications run at once.
    pub fn workers(&self) -> usize {
        self.memory.checked_div(BYTES_PER_HASH).unwrap_or(0).max(1)
    }
}

/// The pool was full: refuse the login for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password hashing pool is full")]
pub(crate) struct PoolFull;

type Job = Box<dyn FnOnce() + Send>;

/// What the pool has done, for tests and operators.
#[derive(Debug, Default)]
struct Counters {
    verifications: AtomicU64,
    refused: AtomicU64,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// What the pool has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Passwords verified.
    pub verifications: u64,
    /// Verifications refused because the queue was full.
    pub refused: u64,
    /// The most verifications that ever ran at once.
    pub peak_running: usize,
    /// Threads in the pool.
    pub workers: usize,
}

/// The pool. Cheap to clone; its threads end when the last clone is dropped.
#[derive(Clone, Debug)]
pub(crate) struct PasswordPool {
    jobs: SyncSender<Job>,
    counters: Arc<Counters>,
    workers: usize,
}

impl PasswordPool {
    /// Starts `limits.workers()` threads with a queue of `limits.queue`.
    pub(crate) fn new(limits: HashingLimits) -> std::io::Result<PasswordPool> {
        let (jobs, queue) = sync_channel::<Job>(limits.queue);
        let queue = Arc::new(Mutex::new(queue));
        let workers = limits.workers();
        for n in 0..workers {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("pw-auth-hash-{n}"))
                .spawn(move || work(&queue))?;
        }
        Ok(PasswordPool {
            jobs,
            counters: Arc::new(Counters::default()),
            workers,
        })
    }

    /// Verifies `password` against the PHC string `hash` on the pool: `Ok(true)` if
    /// it matches, `Ok(false)` if not (or the hash cannot be read), `Err` at once if
    /// the queue is full.
    pub(crate) async fn verify(
        &self,
        password: Password,
        hash: Arc<str>,
    ) -> Result<bool, PoolFull> {
        let answer = self.submit(password, hash)?;
        // A worker that died mid-job (argon2 panicked) drops the sender: not verified.
        Ok(answer.await.unwrap_or(false))
    }

    /// Queues a verification, or refuses it at once if the queue is full.
    fn submit(
        &self,
        password: Password,
        hash: Arc<str>,
    ) -> Result<tokio::sync::oneshot::Receiver<bool>, PoolFull> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let counters = Arc::clone(&self.counters);
        let job: Job = Box::new(move || {
            let running = counters
                .running
                .fetch_add(1, Ordering::SeqCst)
                .saturating_add(1);
            counters.peak.fetch_max(running, Ordering::SeqCst);
            counters.verifications.fetch_add(1, Ordering::SeqCst);
            let ok = Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &*hash)
                .is_ok();
            drop(password);
            counters.running.fetch_sub(1, Ordering::SeqCst);
            let _ = done.send(ok);
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.refused.fetch_add(1, Ordering::SeqCst);
                Err(PoolFull)
            }
        }
    }

    /// What the pool has done so far.
    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            verifications: self.counters.verifications.load(Ordering::SeqCst),
            refused: self.counters.refused.load(Ordering::SeqCst),
            peak_running: self.counters.peak.load(Ordering::SeqCst),
            workers: self.workers,
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, not while running it.
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        match job {
            Ok(job) => job(),
            // Every sender is gone: the server stopped.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_memory_budget_sets_the_threads() {
        let at = |memory| HashingLimits { memory, queue: 1 }.workers();
        assert_eq!(BYTES_PER_HASH, 19 * 1024 * 1024);
        assert_eq!(at(0), 1);
        assert_eq!(at(BYTES_PER_HASH - 1), 1);
        assert_eq!(at(2 * BYTES_PER_HASH), 2);
        assert_eq!(HashingLimits::default().workers(), 6);
    }

    /// One thread, a queue of one: with the thread busy and one verification
    /// waiting, the next is refused at once; the right and a wrong password are told
    /// apart.
    #[tokio::test]
    async fn a_full_pool_refuses_at_once() {
        let pool = PasswordPool::new(HashingLimits {
            memory: 1,
            queue: 1,
        })
        .unwrap();
        let hash: Arc<str> = crate::hash_password("right").unwrap().into();
        let pw = |s: &str| Password::new(s.to_owned()).unwrap();
        // Occupy the one thread until told.
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker: Job = Box::new(move || {
            let _ = started.send(());
            let _ = held.recv();
        });
        pool.jobs.try_send(blocker).unwrap();
        running.recv().unwrap();
        let waiting = pool.submit(pw("right"), Arc::clone(&hash)).unwrap();
        let refused = pool.verify(pw("right"), Arc::clone(&hash)).await;
        assert_eq!(refused, Err(PoolFull));
        release.send(()).unwrap();
        assert_eq!(waiting.await, Ok(true));
        assert_eq!(pool.verify(pw("wrong"), hash).await, Ok(false));
        let stats = pool.stats();
        assert_eq!(
            (
                stats.verifications,
                stats.refused,
                stats.peak_running,
                stats.workers
            ),
            (2, 1, 1, 1)
        );
    }
}
