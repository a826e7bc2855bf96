//! Group commit of the audit log: every request's record is handed to one writer
//! thread, which writes what has queued up meanwhile in one transaction, commits it
//! once, and only then answers each request. An answer waits for the commit that
//! holds its own record, whose cost it shares with every record in it: the more
//! requests arrive at once, the less each pays.
//!
//! On SQLite the same commit carries the usage budgets charged since the last one
//! ([`super::local::Budgets`]): a request is answered only after the commit that holds
//! its record, and its charge was made before its record was queued, so every answered
//! request's charge is on disk too.
//!
//! The queue is bounded ([`QUEUE`]): when it is full a request waits for room, so
//! memory does not grow with load. The thread ends when the last [`AuditLog`] handle
//! is dropped.

use std::collections::HashMap;
use std::sync::Arc;

use pw_auth_axum::{StoreError, StoreErrorKind};
use tokio::sync::{mpsc, oneshot};

use super::local::{Budgets, Payer};
use super::sql::{Arg, Mode, Tx, args};
use super::statements as q;
use super::{Backend, json};

/// How many records may wait for the writer; past that a request waits for room.
pub(crate) const QUEUE: usize = 4096;

/// The most records one commit writes.
pub(crate) const MAX_BATCH: usize = 512;

/// One audit record as stored: its JSON, its time (Unix seconds), and the row a
/// throttled client's refusals are gathered into.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) text: String,
    pub(crate) time: i64,
    pub(crate) aggregate: Option<String>,
    pub(crate) columns: Columns,
}

/// What the audit log's read route filters by, beside the record: the company it
/// acted in, the principal's own company when that is another, the reason's kind,
/// the decision's id.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Columns {
    pub(crate) company: Option<String>,
    pub(crate) principal_company: Option<String>,
    pub(crate) kind: &'static str,
    pub(crate) decision_id: Option<String>,
}

impl Columns {
    /// The columns of `record`.
    pub(crate) fn of(record: &pw_auth_core::AuditRecord) -> Columns {
        Columns {
            company: record.company.as_ref().map(|c| c.as_str().to_owned()),
            // Only when it is not the company acted in (a parent's member in a linked
            // company): its index holds those rows alone.
            principal_company: record
                .principal
                .as_ref()
                .filter(|p| Some(&p.company) != record.company.as_ref())
                .map(|p| p.company.as_str().to_owned()),
            kind: record.reason.kind(),
            decision_id: record.decision_id.map(|d| d.to_string()),
        }
    }
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// How a commit of the audit log reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditSync {
    /// SQLite's `synchronous = NORMAL` in WAL mode: a committed record survives a crash
    /// of the process, and a power failure may lose the last commits (PostgreSQL:
    /// every commit is synced, whichever is chosen).
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit is synced to the disk before any request in
    /// it is answered, so no power failure loses an answered request's record.
    Full,
}

/// A handle on the writer: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AuditLog {
    queue: mpsc::Sender<(Entry, Reply)>,
}

impl AuditLog {
    /// Starts the writer thread over `backend`, writing `budgets`' charges with each
    /// commit when given. The thread has a runtime of its own; on PostgreSQL it
    /// drives a connection of its own there, so a commit's round trip waits for no
    /// task of the server's.
    pub(crate) fn start(
        backend: Backend,
        budgets: Option<Arc<Budgets>>,
        sync: AuditSync,
    ) -> Result<AuditLog, StoreError> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (started, ready) = std::sync::mpsc::sync_channel(1);
        let mode = match sync {
            AuditSync::Normal => Mode::Write,
            AuditSync::Full => Mode::Durable,
        };
        let internal = |what| StoreError::new(StoreErrorKind::Internal, what);
        std::thread::Builder::new()
            .name("pw-auth-audit".to_owned())
            .spawn(move || {
                // Made here, not by the caller: a runtime may not be dropped where the
                // caller runs (inside the server's runtime).
                let mut builder = tokio::runtime::Builder::new_current_thread();
                if matches!(backend, Backend::Postgres(_)) {
                    builder.enable_all();
                }
                let runtime = match builder.build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                let _ = started.send(Ok(()));
                let writer = Writer {
                    backend,
                    budgets,
                    mode,
                };
                runtime.block_on(writer.run(rx));
            })
            .map_err(|e| internal("starting the audit writer").caused_by(e))?;
        // The thread answers as soon as its runtime is made (a brief wait, once, where
        // the records are opened), before it takes any record.
        ready
            .recv()
            .map_err(|e| internal("starting the audit writer").caused_by(e))?
            .map_err(|e| internal("starting the audit writer's runtime").caused_by(e))?;
        Ok(AuditLog { queue })
    }

    /// Queues `entry` and waits until the commit that holds it is done.
    pub(crate) async fn append(&self, entry: Entry) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        let gone = || StoreError::new(StoreErrorKind::Internal, "the audit writer has stopped");
        self.queue.send((entry, reply)).await.map_err(|_| gone())?;
        done.await.map_err(|_| gone())?
    }
}

struct Writer {
    backend: Backend,
    budgets: Option<Arc<Budgets>>,
    mode: Mode,
}

impl Writer {
    /// Until every handle is dropped: takes what has queued up (at least one record,
    /// at most [`MAX_BATCH`]), commits it, answers each.
    ///
    /// Runs on the writer's own runtime, which nothing else uses: SQLite's commits
    /// block it; PostgreSQL's connection is driven by it between commits too, so that
    /// a connection PostgreSQL closed meanwhile is known closed, and replaced, before
    /// the next commit would be sent on it.
    async fn run(self, mut rx: mpsc::Receiver<(Entry, Reply)>) {
        while let Some(first) = rx.recv().await {
            let (entries, replies): (Vec<Entry>, Vec<Reply>) =
                gather(first, &mut rx, MAX_BATCH).into_iter().unzip();
            let result = self.commit(entries).await;
            for reply in replies {
                // A request that stopped waiting (its client went away) needs no answer.
                let _ = reply.send(result.clone());
            }
        }
    }

    /// Writes `entries`, and the budgets charged since the last commit, in one
    /// transaction. On failure the budgets stay to be written with the next one.
    async fn commit(&self, entries: Vec<Entry>) -> Result<(), StoreError> {
        let rows = rows(entries);
        // SQLite runs in this process: one prepared insert a row costs less than
        // writing and parsing the rows as JSON. PostgreSQL: one statement, one round
        // trip, for the whole commit.
        let one_by_one = matches!(self.backend, Backend::Sqlite(_));
        let array = if one_by_one {
            String::new()
        } else {
            json(&rows)?
        };
        let charged = match &self.budgets {
            Some(b) => b.take_dirty(),
            None => Vec::new(),
        };
        let mut states = Vec::with_capacity(charged.len());
        for (payer, state) in &charged {
            let (set, id) = match payer {
                Payer::Company(c) => (&q::SET_BUDGET, c.as_str().to_owned()),
                Payer::Key(k) => (&q::SET_KEY_BUDGET, k.as_str().to_owned()),
            };
            states.push((set, id, json(state)?));
        }
        // PostgreSQL with nothing but the rows to write: one statement, which commits on
        // its own as atomically and durably as a transaction of it would (every commit
        // is synced there), in one round trip instead of three (begin, insert, commit).
        let mode = if !one_by_one && states.is_empty() {
            Mode::Single
        } else {
            self.mode
        };
        let result = self
            .backend
            .audit_transaction(mode, move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    if one_by_one {
                        for row in &rows {
                            let c = &row.columns;
                            tx.execute(
                                &q::AUDIT_ONE,
                                &[
                                    Arg::Text(&row.record),
                                    Arg::Int(row.time),
                                    Arg::MaybeText(row.aggregate.as_deref()),
                                    Arg::Int(row.count),
                                    Arg::MaybeText(c.company.as_deref()),
                                    Arg::MaybeText(c.principal_company.as_deref()),
                                    Arg::Text(c.kind),
                                    Arg::MaybeText(c.decision_id.as_deref()),
                                ],
                            )
                            .await?;
                        }
                    } else {
                        tx.execute(&q::AUDIT_MANY, args![&array]).await?;
                    }
                    for (set, id, state) in &states {
                        tx.execute(set, args![id, state]).await?;
                    }
                    Ok(())
                })
            })
            .await;
        if result.is_err()
            && let Some(b) = &self.budgets
        {
            b.restore_dirty(charged);
        }
        result
    }
}

/// `first` and what is queued behind it, `max` at the most (the rest waits for the
/// next turn): the audit writer's commits, and the Redis limiter's turns
/// (`limits.rs`).
pub(crate) fn gather<T>(first: T, rx: &mut mpsc::Receiver<T>, max: usize) -> Vec<T> {
    let mut batch = Vec::with_capacity(max.min(rx.len().saturating_add(1)));
    batch.push(first);
    while batch.len() < max {
        match rx.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

/// One row of [`q::AUDIT_MANY`].
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
struct Row {
    record: String,
    time: i64,
    aggregate: Option<String>,
    count: i64,
    #[serde(flatten)]
    columns: Columns,
}

/// The rows a commit writes, in the order the records came: each record its own row,
/// except that records gathered into one aggregate row are one row counting them all
/// (at the place of the first), since one statement may not touch a row twice.
fn rows(entries: Vec<Entry>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(entries.len());
    let mut gathered: HashMap<String, usize> = HashMap::new();
    for e in entries {
        if let Some(key) = &e.aggregate {
            if let Some(row) = gathered.get(key).and_then(|&i| rows.get_mut(i)) {
                row.count = row.count.saturating_add(1);
                continue;
            }
            gathered.insert(key.clone(), rows.len());
        }
        rows.push(Row {
            record: e.text,
            time: e.time,
            aggregate: e.aggregate,
            count: 1,
            columns: e.columns,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, aggregate: Option<&str>) -> Entry {
        Entry {
            text: text.to_owned(),
            time: 7,
            aggregate: aggregate.map(str::to_owned),
            columns: Columns::default(),
        }
    }

    /// A commit takes what queued behind its first record, in order, and never more
    /// than the most a commit writes.
    #[test]
    fn a_commit_takes_what_queued_up_to_its_limit() {
        fn commit(rx: &mut mpsc::Receiver<u32>) -> Vec<u32> {
            let first = rx.try_recv().unwrap();
            gather(first, rx, 4)
        }
        let (tx, mut rx) = mpsc::channel(16);
        for i in 0..10 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(commit(&mut rx), [0, 1, 2, 3]);
        assert_eq!(commit(&mut rx), [4, 5, 6, 7]);
        assert_eq!(commit(&mut rx), [8, 9], "what is left");
        tx.try_send(10).unwrap();
        assert_eq!(commit(&mut rx), [10], "one alone");
    }

    #[test]
    fn gathered_records_are_one_row_counting_them_and_the_order_is_kept() {
        let rows = rows(vec![
            entry("a", None),
            entry("t1", Some("throttled:x:1")),
            entry("b", None),
            entry("t2", Some("throttled:x:1")),
            entry("u1", Some("throttled:y:1")),
            entry("t3", Some("throttled:x:1")),
        ]);
        let seen: Vec<(&str, i64)> = rows.iter().map(|r| (r.record.as_str(), r.count)).collect();
        assert_eq!(seen, [("a", 1), ("t1", 3), ("b", 1), ("u1", 1)]);
        assert_eq!(rows[1].aggregate.as_deref(), Some("throttled:x:1"));
    }
}
