//! Wiping request bodies that hyper still shares.
//!
//! hyper hands a request body over as a slice of the connection's read buffer, so
//! when the login handler is done with a body that held a password, the allocation is
//! usually still shared: hyper frees it later, password and all, when the connection
//! ends or its buffer moves. Such a body is kept in its connection's [`Wipes`] and
//! wiped as soon as the server holds the only reference: when the next body is kept,
//! and at the latest when the connection's task ends (after hyper's connection, and
//! with it its buffer, is dropped). No timer and no task per body.

use std::sync::Mutex;

use axum::body::Bytes;
use zeroize::Zeroize;

/// The most shared bodies one connection keeps; past it the oldest is let go (wiped
/// if hyper no longer shares it). On one connection hyper reuses one buffer until it
/// fills, so the bodies kept share a handful of allocations.
pub(crate) const MAX_KEPT: usize = 16;

/// Bytes wiped when dropped, if they are the last reference to their allocation then.
struct WipedLast(Bytes);

impl Drop for WipedLast {
    fn drop(&mut self) {
        if let Ok(mut owned) = std::mem::take(&mut self.0).try_into_mut() {
            owned.as_mut().zeroize();
        }
    }
}

/// One connection's bodies waiting to be wiped. Dropped when the connection's task
/// ends, which wipes them all.
#[derive(Default)]
pub(crate) struct Wipes(Mutex<Vec<WipedLast>>);

impl Wipes {
    /// Wipes `body` now if nothing else shares its bytes, else keeps it to wipe later.
    pub(crate) fn keep(&self, body: Bytes) {
        let body = WipedLast(body);
        if body.0.is_unique() {
            return;
        }
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Those hyper has let go of are wiped as they are dropped.
        kept.retain(|b| !b.0.is_unique());
        if kept.len() >= MAX_KEPT {
            kept.remove(0);
        }
        kept.push(body);
    }

    /// How many bodies are waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Wipes `body` now if nothing else shares its bytes; else keeps it in `wipes`, or
/// without a connection to keep it in (a router called directly, not through the
/// server's accept loop) lets it go.
pub(crate) fn wipe(body: Bytes, wipes: Option<&Wipes>) {
    match wipes {
        Some(w) => w.keep(body),
        None => drop(WipedLast(body)),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "test code")]
mod tests {
    //! Which bodies are kept; that a kept body is wiped once hyper lets go is shown
    //! under the scanning allocator (`tests/memcheck.rs`).
    use super::*;

    /// A body sharing its allocation with `buffer`, as hyper's read buffer does.
    fn shared(buffer: &Bytes) -> Bytes {
        buffer.slice(0..8)
    }

    #[test]
    fn an_unshared_body_is_wiped_at_once_and_not_kept() {
        let wipes = Wipes::default();
        wipes.keep(Bytes::from(b"a secret".to_vec()));
        assert_eq!(wipes.len(), 0);
    }

    #[test]
    fn a_shared_body_is_kept_and_the_other_owner_sees_its_bytes_untouched() {
        let wipes = Wipes::default();
        let buffer = Bytes::from(b"a secret, and more".to_vec());
        wipes.keep(shared(&buffer));
        assert_eq!(wipes.len(), 1);
        assert_eq!(&buffer[..8], b"a secret", "never written while shared");
    }

    #[test]
    fn the_next_body_lets_go_of_those_no_longer_shared_and_the_cap_holds() {
        let wipes = Wipes::default();
        let first = Bytes::from(vec![1u8; 64]);
        wipes.keep(shared(&first));
        drop(first);
        let second = Bytes::from(vec![2u8; 64]);
        wipes.keep(shared(&second));
        // The first was no longer shared: wiped and gone; the second waits.
        assert_eq!(wipes.len(), 1);
        let buffers: Vec<Bytes> = (0..MAX_KEPT + 5)
            .map(|_| Bytes::from(vec![3u8; 64]))
            .collect();
        for b in &buffers {
            wipes.keep(shared(b));
        }
        assert_eq!(wipes.len(), MAX_KEPT);
        drop(second);
    }

    #[test]
    fn without_a_connection_a_shared_body_is_let_go_untouched() {
        let buffer = Bytes::from(b"a secret, and more".to_vec());
        wipe(shared(&buffer), None);
        assert_eq!(&buffer[..8], b"a secret", "never written while shared");
    }
}
