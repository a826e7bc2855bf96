//! # pw-auth-memcheck
//!
//! Test-only. [`Scanning`] is a global allocator that wraps the system's and, while a
//! needle is armed, searches every block it frees for it (reallocation goes through
//! allocate, copy and free, so a moved block is scanned too). A test arms it with a
//! password, runs code that reads or writes that password, and asks how many freed
//! blocks still held it: a secret wiped before its memory was freed is never found.
//!
//! The library crates of pw-auth forbid `unsafe`; a global allocator cannot be
//! written without it, so it lives here, in a crate nothing ships.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The longest needle.
pub const MAX_NEEDLE: usize = 64;

struct Needle {
    bytes: [u8; MAX_NEEDLE],
    len: usize,
}

static NEEDLE: Mutex<Needle> = Mutex::new(Needle {
    bytes: [0; MAX_NEEDLE],
    len: 0,
});
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// One armed run at a time: tests run on parallel threads.
static RUN: Mutex<()> = Mutex::new(());

/// The scanning allocator. Install it with `#[global_allocator]` in a test binary.
#[derive(Debug)]
pub struct Scanning;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

// SAFETY: every method forwards to `System` with the arguments it was given; the
// only addition is reading a block that is still allocated, before it is freed.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // `try_lock`: the allocator must never block or allocate; a block freed while
        // the needle is being changed goes unscanned.
        if let Ok(needle) = NEEDLE.try_lock()
            && needle.len > 0
        {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes that this
            // allocator handed out (the caller's contract for `dealloc`); it is read
            // before it is freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if contains(block, needle.bytes.get(..needle.len).unwrap_or_default()) {
                FOUND.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with `needle` armed and returns how many blocks freed meanwhile held it
/// (by any thread: a test binary's other tests wait for it, but its harness may not).
/// `needle` should be a byte string the test's own heap data never holds (build the
/// inputs from static bytes).
///
/// # Panics
/// If `needle` is empty or longer than [`MAX_NEEDLE`] bytes.
pub fn freed_blocks_holding(needle: &[u8], f: impl FnOnce()) -> usize {
    assert!(
        !needle.is_empty() && needle.len() <= MAX_NEEDLE,
        "a needle of 1 to {MAX_NEEDLE} bytes"
    );
    let _one_at_a_time = RUN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    {
        let mut n = NEEDLE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        n.bytes = [0; MAX_NEEDLE];
        if let Some(dst) = n.bytes.get_mut(..needle.len()) {
            dst.copy_from_slice(needle);
        }
        n.len = needle.len();
    }
    FOUND.store(0, Ordering::SeqCst);
    f();
    let found = FOUND.load(Ordering::SeqCst);
    NEEDLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len = 0;
    found
}
