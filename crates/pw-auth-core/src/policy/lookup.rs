//! Actions by id in constant time: an open-addressing table of action indices, built
//! once when the policy is compiled. The hash reads the id's length and its first and
//! last eight bytes as two words — a few multiplications, whatever the id — and a
//! slot matches when it holds the same length and words, which are the whole id up to
//! 16 bytes; a longer id is then compared in full. It is not a keyed hash and
//! needs not be: only the policy's own ids are in the table, so an id a caller makes
//! up costs at most the longest run of occupied slots, which the table (at most half
//! full) keeps short.

use super::ActionDef;

/// A slot with no action.
const EMPTY: u16 = u16::MAX;

/// One slot: the action's index (or `EMPTY`), and its id's length and two words, so
/// that an id of up to 16 bytes is compared without reading the action at all.
#[derive(Debug, Clone, Copy)]
struct Slot {
    index: u16,
    len: usize,
    words: (u64, u64),
}

const VACANT: Slot = Slot {
    index: EMPTY,
    len: 0,
    words: (0, 0),
};

/// The compiled table: a power-of-two number of slots, at least twice the actions.
#[derive(Debug, Clone)]
pub(super) struct ActionIndex {
    slots: Box<[Slot]>,
}

/// The first eight bytes of `id`, zero-padded, as a little-endian word; and the last
/// eight the same way.
fn words(id: &[u8]) -> (u64, u64) {
    if let (Some(head), Some(tail)) = (id.first_chunk::<8>(), id.last_chunk::<8>()) {
        return (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
    }
    let mut head = [0u8; 8];
    let mut tail = [0u8; 8];
    for (d, s) in head.iter_mut().zip(id) {
        *d = *s;
    }
    for (d, s) in tail.iter_mut().rev().zip(id.iter().rev()) {
        *d = *s;
    }
    (u64::from_le_bytes(head), u64::from_le_bytes(tail))
}

fn hash_words(len: usize, (head, tail): (u64, u64)) -> u64 {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    let mut h = head.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ tail.rotate_left(31).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ len.wrapping_mul(0x1656_67b1_9e37_79f9);
    h ^= h >> 29;
    h.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
}

/// The slot `hash` starts at in a table of `mask + 1` slots.
fn start(hash: u64, mask: usize) -> usize {
    // Truncating to the platform's word is fine: only the low bits are used.
    (hash as usize) & mask
}

impl ActionIndex {
    /// The table over `actions` (at most `MAX_ACTIONS`, each id distinct).
    pub(super) fn build(actions: &[ActionDef]) -> ActionIndex {
        let len = actions
            .len()
            .saturating_mul(2)
            .max(2)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX);
        let mut slots = vec![VACANT; len].into_boxed_slice();
        let mask = len.saturating_sub(1);
        for (i, action) in actions.iter().enumerate() {
            let Ok(index) = u16::try_from(i) else {
                break;
            };
            let filled = Slot {
                index,
                len: action.id.len(),
                words: words(action.id.as_bytes()),
            };
            let mut slot = start(hash_words(filled.len, filled.words), mask);
            // At most half the slots are taken: an empty one is always found.
            while let Some(taken) = slots.get_mut(slot) {
                if taken.index == EMPTY {
                    *taken = filled;
                    break;
                }
                slot = slot.wrapping_add(1) & mask;
            }
        }
        ActionIndex { slots }
    }

    /// The action with this id, if the policy has one.
    pub(super) fn find<'a>(&self, actions: &'a [ActionDef], id: &str) -> Option<&'a ActionDef> {
        self.locate(actions, id).0
    }

    /// The action with this id, and how many slots were read to decide.
    fn locate<'a>(&self, actions: &'a [ActionDef], id: &str) -> (Option<&'a ActionDef>, usize) {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return (None, 0);
        };
        let wanted = words(id.as_bytes());
        let mut slot = start(hash_words(id.len(), wanted), mask);
        for read in 1..=self.slots.len() {
            let Some(s) = self.slots.get(slot) else {
                return (None, read);
            };
            if s.index == EMPTY {
                return (None, read);
            }
            // Length and both words equal: an id of up to 16 bytes is equal (its words
            // cover it); a longer one is compared whole.
            if s.len == id.len() && s.words == wanted {
                let action = actions.get(usize::from(s.index));
                if id.len() <= 16 || action.is_some_and(|a| *a.id == *id) {
                    return (action, read);
                }
            }
            slot = slot.wrapping_add(1) & mask;
        }
        (None, self.slots.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(id: &str) -> u64 {
        hash_words(id.len(), words(id.as_bytes()))
    }
    use crate::policy::{Policy, PolicyDocument};

    /// The most and the mean slots read to find each of `policy`'s actions, and the
    /// mean to refuse ids it does not have.
    fn probes(policy: &Policy) -> (usize, f64, f64) {
        let index = &policy.index;
        let mut reads = Vec::new();
        for a in policy.actions.iter() {
            let (found, read) = index.locate(&policy.actions, &a.id);
            assert!(found.is_some_and(|f| f.id == a.id));
            reads.push(read);
        }
        let misses: Vec<usize> = policy
            .actions
            .iter()
            .map(|a| index.locate(&policy.actions, &format!("{}-x", a.id)).1)
            .collect();
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
        (
            reads.iter().copied().max().unwrap_or(0),
            mean(&reads),
            mean(&misses),
        )
    }

    /// The table stays a hash table, not a list: the default policy's actions and a
    /// policy 100 times its size are each found in a slot or two, and an unknown id
    /// is refused about as fast (a weak hash, or every lookup starting at the same
    /// slot, would make these runs long).
    #[test]
    fn lookups_read_few_slots() {
        let default = Policy::default_policy();
        let mut doc: PolicyDocument =
            serde_json::from_str(Policy::default_document_json()).unwrap();
        let originals = doc.actions.clone();
        for n in 1..100 {
            for a in &originals {
                let mut copy = a.clone();
                copy.id = format!("x{n}{}", a.id);
                doc.actions.push(copy);
            }
        }
        let big = Policy::compile(&doc).unwrap();
        for (name, policy) in [("default", &default), ("100x", &big)] {
            let (max, mean, miss) = probes(policy);
            // Measured: default 3 / 1.23 / 1.47; 100x 14 / 1.24 / 1.61.
            assert!(
                max <= 16 && mean <= 1.5 && miss <= 2.5,
                "{name}: {max} {mean} {miss}"
            );
        }
    }

    #[test]
    fn words_pad_short_ids_and_read_both_ends() {
        assert_eq!(words(b""), (0, 0));
        assert_eq!(words(b"ab"), (0x6261, 0x6261_0000_0000_0000));
        let (head, tail) = words(b"0123456789");
        assert_eq!(head.to_le_bytes(), *b"01234567");
        assert_eq!(tail.to_le_bytes(), *b"23456789");
    }

    #[test]
    fn the_hash_reads_length_and_both_ends() {
        // Same first eight bytes: the last eight tell them apart.
        assert_ne!(hash("api-keys.create"), hash("api-keys.delete"));
        // Same ends: the length does.
        assert_ne!(hash("a.b"), hash("a.bb"));
        // Same length and ends, a different middle: the same hash (the table's
        // probing and the full comparison sort them out; tests/policy.rs).
        assert_eq!(hash("abcdefgh-1-stuv.view"), hash("abcdefgh-2-stuv.view"));
    }
}
