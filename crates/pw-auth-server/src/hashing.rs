//! Password hashing on a pool of its own, bounded by a memory budget.
//!
//! An argon2id verification with the recommended parameters holds 19 MiB for tens of
//! milliseconds. Run on the store's blocking pool (up to 512 threads, then an
//! unbounded queue), a burst of logins without any credentials could take gigabytes
//! and stall every store call behind it. Here verifications run on a fixed set of
//! threads — as many as the memory budget allows, and no more than there are cores —
//! with a bounded queue in front;
//! when the queue is full the login is refused at once (503 with `Retry-After`),
//! never queued without bound. Store calls keep their own pool.
//!
//! Each thread owns one argon2 memory buffer and reuses it. Allocating 19 MiB per
//! verification instead let the allocator keep the freed blocks resident (glibc
//! raises its mmap threshold after the first free, and then serves them from
//! per-thread arenas): 200 logins took the process to 955 MiB with six at a time.
//! With a buffer a thread, resident memory for hashing stays at the budget.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use pw_auth_core::Password;

/// The memory one verification holds: argon2's recommended `m_cost` (19 MiB).
pub const BYTES_PER_HASH: usize = (argon2::Params::DEFAULT_M_COST as usize).saturating_mul(1024);

/// How password hashing is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// The memory all verifications together may hold; the pool runs
    /// `memory / BYTES_PER_HASH` of them at once (at least one), but no more than
    /// the machine has cores ([`HashingLimits::workers`]). 128 MiB by default: six,
    /// or two on a two-core machine.
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
    /// How many verifications run at once: as many as the memory budget holds, but
    /// never more than the machine has cores (more threads would only queue for the
    /// CPU, and starve every other request of it).
    pub fn workers(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        self.by_memory().min(cores)
    }

    /// How many verifications the memory budget holds at once.
    pub fn by_memory(&self) -> usize {
        self.memory.checked_div(BYTES_PER_HASH).unwrap_or(0).max(1)
    }
}

/// The pool was full: refuse the login for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password hashing pool is full")]
pub(crate) struct PoolFull;

/// A job, run with its thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// One thread's argon2 memory: grown to the blocks a hash asks for, up to `max`
/// blocks (the thread's share of the budget); a hash that asks for more fails.
pub(crate) struct Memory {
    blocks: Vec<Block>,
    max: usize,
}

impl Memory {
    fn new(max_bytes: usize) -> Memory {
        Memory {
            blocks: Vec::new(),
            max: max_bytes
                .checked_div(std::mem::size_of::<Block>())
                .unwrap_or(0)
                .max(1),
        }
    }
}

/// Verifies `password` against the PHC string `phc` as argon2's own
/// `PasswordVerifier` does — the algorithm, version, parameters and salt the string
/// names, the output compared in constant time (`Output`'s equality) — but in
/// `memory` instead of a fresh allocation. `false` for a hash it cannot read, or one
/// asking for more memory than the thread's share.
fn verify_in(memory: &mut Memory, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    if blocks > memory.max {
        return false;
    }
    if memory.blocks.len() < blocks {
        memory.blocks.resize(blocks, Block::default());
    }
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = [0u8; Output::MAX_LENGTH];
    let (Some(out), Some(work)) = (out.get_mut(..len), memory.blocks.get_mut(..blocks)) else {
        return false;
    };
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        out,
        &mut *work,
    );
    // The blocks hold state derived from the password: wiped before the next use.
    work.fill(Block::default());
    let ok = computed.is_ok() && Output::new(out).is_ok_and(|o| o == *expected);
    zeroize::Zeroize::zeroize(out);
    ok
}

/// What the pool has done, for tests and operators.
#[derive(Debug, Default)]
struct Counters {
    verifications: AtomicU64,
    refused: AtomicU64,
    running: AtomicUsize,
    queued: AtomicUsize,
    peak: AtomicUsize,
}

/// What the pool has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Passwords verified (or hashed, for a user created).
    pub verifications: u64,
    /// Verifications refused because the queue was full.
    pub refused: u64,
    /// The most verifications that ever ran at once.
    pub peak_running: usize,
    /// Verifications running now.
    pub running: usize,
    /// Verifications waiting for a thread now.
    pub queued: usize,
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
        let share = limits
            .memory
            .checked_div(workers)
            .unwrap_or(0)
            .max(BYTES_PER_HASH);
        for n in 0..workers {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("pw-auth-hash-{n}"))
                .spawn(move || work(&queue, Memory::new(share)))?;
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
        let answer = self.submit(move |memory| {
            let ok = verify_in(memory, password.expose_secret().as_bytes(), &hash);
            drop(password);
            ok
        })?;
        // A worker that died mid-job (argon2 panicked) drops the sender: not verified.
        Ok(answer.await.unwrap_or(false))
    }

    /// Hashes `password` on the pool (argon2id, a fresh salt): the PHC string, or
    /// `None` if hashing failed; `Err` at once if the queue is full. It counts
    /// against the pool like a verification (one at a time a worker), with the
    /// argon2 memory of its own.
    pub(crate) async fn hash(&self, password: Password) -> Result<Option<String>, PoolFull> {
        let answer = self.submit(move |_memory| {
            let phc = crate::hash_password(password.expose_secret()).ok();
            drop(password);
            phc
        })?;
        Ok(answer.await.ok().flatten())
    }

    /// Queues `work`, or refuses it at once if the queue is full.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>, PoolFull> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let counters = Arc::clone(&self.counters);
        let job: Job = Box::new(move |memory: &mut Memory| {
            counters.queued.fetch_sub(1, Ordering::SeqCst);
            let running = counters
                .running
                .fetch_add(1, Ordering::SeqCst)
                .saturating_add(1);
            counters.peak.fetch_max(running, Ordering::SeqCst);
            counters.verifications.fetch_add(1, Ordering::SeqCst);
            let out = work(memory);
            counters.running.fetch_sub(1, Ordering::SeqCst);
            let _ = done.send(out);
        });
        // Counted before it is sent: a worker may take it at once.
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.queued.fetch_sub(1, Ordering::SeqCst);
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
            running: self.counters.running.load(Ordering::SeqCst),
            queued: self.counters.queued.load(Ordering::SeqCst),
            workers: self.workers,
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>, mut memory: Memory) {
    loop {
        // The lock is held only while taking a job, not while running it.
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        match job {
            Ok(job) => job(&mut memory),
            // Every sender is gone: the server stopped.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Verifying in a reused buffer answers as argon2's own verifier, for the right
    /// and wrong passwords, other parameters, algorithms and versions, one buffer
    /// reused across all of them (so a smaller hash after a larger one too); a hash
    /// over the memory share, or one that cannot be read, fails.
    #[test]
    fn verifying_in_a_reused_buffer_agrees_with_argon2() {
        use argon2::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
        let mut memory = Memory::new(BYTES_PER_HASH);
        let salt = b"a-salt-of-16-bytes";
        let mut hashes = vec![crate::hash_password("right").unwrap()];
        for (alg, version, m, t, p) in [
            ("argon2id", 0x13, 8, 1, 1),
            ("argon2i", 0x13, 64, 2, 1),
            ("argon2d", 0x10, 32, 1, 2),
            ("argon2id", 0x13, 19 * 1024, 1, 1),
        ] {
            let params = Params::new(m, t, p, Some(32)).unwrap();
            let h = Argon2::default()
                .hash_password_customized(b"right", salt, Some(alg), Some(version), params)
                .unwrap();
            hashes.push(h.to_string());
        }
        for phc in &hashes {
            for password in ["right", "wrong", "", "right "] {
                let theirs = Argon2::default()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok();
                assert_eq!(
                    verify_in(&mut memory, password.as_bytes(), phc),
                    theirs,
                    "{phc} {password:?}"
                );
                assert_eq!(theirs, password == "right");
            }
        }
        assert!(
            memory
                .blocks
                .iter()
                .all(|b| b.as_ref().iter().all(|w| *w == 0)),
            "wiped"
        );
        let mut small = Memory::new(1024 * 1024);
        assert!(
            !verify_in(&mut small, b"right", &hashes[0]),
            "over the share"
        );
        for broken in [
            "",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdA",
            "$scrypt$ln=1$c2FsdHNhbHQ$aGFzaA",
            "plain",
        ] {
            assert!(!verify_in(&mut memory, b"right", broken), "{broken}");
        }
    }

    #[test]
    fn the_memory_budget_sets_the_threads() {
        let at = |memory| HashingLimits { memory, queue: 1 }.by_memory();
        assert_eq!(BYTES_PER_HASH, 19 * 1024 * 1024);
        assert_eq!(at(0), 1);
        assert_eq!(at(BYTES_PER_HASH - 1), 1);
        assert_eq!(at(2 * BYTES_PER_HASH), 2);
        assert_eq!(HashingLimits::default().by_memory(), 6);
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(HashingLimits::default().workers(), 6.min(cores));
        assert_eq!(
            HashingLimits {
                memory: 1,
                queue: 1
            }
            .workers(),
            1
        );
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
        let blocker: Job = Box::new(move |_: &mut Memory| {
            let _ = started.send(());
            let _ = held.recv();
        });
        pool.jobs.try_send(blocker).unwrap();
        running.recv().unwrap();
        let waiting = {
            let (password, hash) = (pw("right"), Arc::clone(&hash));
            pool.submit(move |memory| verify_in(memory, password.expose_secret().as_bytes(), &hash))
                .unwrap()
        };
        assert_eq!(pool.stats().queued, 1);
        let refused = pool.verify(pw("right"), Arc::clone(&hash)).await;
        assert_eq!(refused, Err(PoolFull));
        let refused = pool.hash(pw("new-password")).await;
        assert_eq!(refused, Err(PoolFull), "a hash waits in the same queue");
        release.send(()).unwrap();
        assert_eq!(waiting.await, Ok(true));
        assert_eq!(pool.verify(pw("wrong"), Arc::clone(&hash)).await, Ok(false));
        // A hash made on the pool verifies, on the pool.
        let made: Arc<str> = pool.hash(pw("new-password")).await.unwrap().unwrap().into();
        assert_eq!(
            pool.verify(pw("new-password"), Arc::clone(&made)).await,
            Ok(true)
        );
        assert_eq!(pool.verify(pw("right"), made).await, Ok(false));
        let stats = pool.stats();
        assert_eq!(
            (
                stats.verifications,
                stats.refused,
                stats.peak_running,
                stats.workers,
                stats.queued,
                stats.running,
            ),
            (5, 2, 1, 1, 0, 0)
        );
    }
}
