//! Checkpoints of the SQLite file's write-ahead log, off the writers' path.
//!
//! A commit appends its pages to the WAL; a checkpoint copies the newest version of
//! each page into the database file and syncs both files. Left to SQLite's own
//! automatic checkpoints (every 1,000 pages), the connection that commits also
//! checkpoints: under load about 35 times a second, each one stopping every commit —
//! and every request waiting for one — for its `fsync`s. Here a thread of its own, on
//! its own connection, checkpoints at most every [`INTERVAL`] once something was
//! committed ([`Checkpointer::nudge`]), in SQLite's `PASSIVE` mode, which never waits
//! for, nor holds up, a writer or a reader. Pages written many times in an interval
//! (the audit log's newest leaves, the budgets) are copied once.
//!
//! The committing connection keeps an automatic checkpoint as a backstop, at
//! [`BACKSTOP_PAGES`]. The log starts again from its beginning only after a
//! checkpoint that found it whole: when commits pause, this thread's; under sustained
//! commits, which append while a passive checkpoint copies, the backstop's, which then
//! finds most pages copied already. So under load the `-wal` file grows to about the
//! backstop and stays that size. Durability is the commit's, as before: a checkpoint
//! moves committed pages from one file to the other and never decides whether a
//! commit is kept.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use pw_auth_axum::{StoreError, StoreErrorKind};
use rusqlite::Connection;

use super::err;

/// The least time between two checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(25);

/// The committing connection's own automatic checkpoint, in pages (4 KiB each): under
/// sustained commits the one after which the log starts again (the module's
/// documentation), and the bound on the log if this thread falls behind.
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;

/// A handle on the checkpointer thread, which ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    nudges: SyncSender<()>,
    /// How many checkpoints the thread tried; shared with it.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "what the thread did, read by the tests")
    )]
    runs: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Starts the thread, with a connection of its own to the database at `path`
    /// (already open, in WAL mode).
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        // SQLite's defaults: a checkpoint syncs the WAL before copying it and the
        // database file after; a passive one never waits for a lock (busy: tried
        // again at the next nudge).
        let conn = Connection::open(path).map_err(err)?;
        // One nudge waits at most: more in the meantime mean the same checkpoint.
        let (nudges, rx) = sync_channel(1);
        let runs = Arc::new(AtomicU64::new(0));
        let theirs = Arc::clone(&runs);
        std::thread::Builder::new()
            .name("pw-auth-checkpoint".to_owned())
            .spawn(move || run(&conn, &rx, &theirs))
            .map_err(|e| {
                StoreError::new(StoreErrorKind::Internal, "starting the WAL checkpointer")
                    .caused_by(e)
            })?;
        Ok(Checkpointer { nudges, runs })
    }

    /// Something was committed: a checkpoint follows within [`INTERVAL`] or so. Never
    /// waits.
    pub(crate) fn nudge(&self) {
        match self.nudges.try_send(()) {
            // Full: a checkpoint is already due. Disconnected: the thread stopped
            // (it never does while a handle lives); the backstop still checkpoints.
            Ok(()) | Err(TrySendError::Full(()) | TrySendError::Disconnected(())) => {}
        }
    }

    /// How many checkpoints the thread tried.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Acquire)
    }

    /// What the thread shares with the handles: gone once the thread has ended.
    #[cfg(test)]
    pub(crate) fn thread_alive(&self) -> std::sync::Weak<impl Sized + use<>> {
        Arc::downgrade(&self.runs)
    }
}

/// Until every handle is dropped: waits for a nudge, lets [`INTERVAL`] pass, then
/// checkpoints what was committed meanwhile.
fn run(conn: &Connection, nudges: &Receiver<()>, runs: &AtomicU64) {
    while nudges.recv().is_ok() {
        std::thread::sleep(INTERVAL);
        // The nudges of the interval are this checkpoint's.
        while nudges.try_recv().is_ok() {}
        // A checkpoint that fails (another one under way, a full disk) is tried again
        // at the next nudge; meanwhile the backstop bounds the WAL.
        let _tried_again_later = checkpoint(conn);
        runs.fetch_add(1, Ordering::Release);
    }
}

/// One `PASSIVE` checkpoint: copies what no reader still needs, without waiting.
fn checkpoint(conn: &Connection) -> Result<(), rusqlite::Error> {
    // Its row (busy, the log's frames, those copied) is not needed.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
