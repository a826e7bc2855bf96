//! Reviewing a policy: its whole decision table as a value ([`DecisionTable`], what
//! it decides for every subject, action, tier and place, made to be snapshotted and
//! read), the cells a change moves ([`Policy::diff`](crate::Policy::diff)), and files of
//! expected decisions a policy must keep ([`Policy::run_cases`](crate::Policy::run_cases)).
//!
//! Above [`crate::authorize`]: a table is made by asking it, cell by cell; nothing
//! below depends on this module.

mod cases;
mod table;

pub use cases::{CaseError, CaseFailure, CaseReport};
pub use table::{Cell, CellChange, DecisionTable, Place, Subject, Verdict};
