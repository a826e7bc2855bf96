//! # pw-auth-memcheck
//!
//! Test-only. [`Scanning`] is a global allocator that wraps the system's and, while a
//! needle is armed, searches every block it frees for it (reallocation goes through
//! allocate, copy and free, so a moved block is scanned too). A test arms it with a
//! password, runs code that reads or writes that password, and asks how many freed
//! blocks still held it: a secret wiped before its memory was freed is never found.
//! Every block it hands out is zeroed, so that a block never carries what its memory
//! held before: a secret found in a freed block was written into that block.
//!
//! The library crates of pw-auth forbid `unsafe`; a global allocator cannot be
//! written without it, so it lives here, in a crate nothing ships.

use std::alloc::{GlobalAlloc, Layout, System};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// The longest needle.
pub const MAX_NEEDLE: usize = 256;

/// The armed needle, in atomics rather than behind a lock: blocks freed on several
/// threads at once are all scanned (a lock taken with `try_lock` skipped every block
/// freed while another thread was scanning). It is written only between runs, while
/// `LEN` is 0.
static NEEDLE: [AtomicU8; MAX_NEEDLE] = [const { AtomicU8::new(0) }; MAX_NEEDLE];
/// The armed needle's length; 0 when disarmed.
static LEN: AtomicUsize = AtomicUsize::new(0);
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// The most block sizes [`freed_block_sizes_holding`] reports.
pub const MAX_SIZES: usize = 32;
/// The sizes of the first [`MAX_SIZES`] blocks found in this run.
static SIZES: [AtomicUsize; MAX_SIZES] = [const { AtomicUsize::new(0) }; MAX_SIZES];
/// One armed run at a time: tests run on parallel threads.
static RUN: Mutex<()> = Mutex::new(());

/// The scanning allocator. Install it with `#[global_allocator]` in a test binary.
#[derive(Debug)]
pub struct Scanning;

/// Whether `hay` holds the armed needle, its `len` bytes read from their atomics one
/// at a time as they are compared. The needle is never copied whole into the scanning
/// thread's memory: a copy on its stack (where `dealloc` once gathered it, for every
/// block freed while armed) stays there after the scan, and the next large value
/// built on that stack with room it leaves unwritten — a future, a closure — carries
/// it to the heap when moved there, to be found as a secret the code under test
/// copied (a writer thread's future was, in every process).
fn holds_needle(hay: &[u8], len: NonZeroUsize) -> bool {
    let first = NEEDLE.first().map(|b| b.load(Ordering::SeqCst));
    hay.windows(len.get()).any(|w| {
        w.first().copied() == first
            && w.iter()
                .zip(&NEEDLE)
                .all(|(h, n)| *h == n.load(Ordering::SeqCst))
    })
}

// SAFETY: every method forwards to `System` with the arguments it was given; the
// only addition is reading a block that is still allocated, before it is freed.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Zeroed memory, always: a block never inherits what its memory held before
        // (a buffer freed unwiped, an earlier run's secret) in capacity it never
        // writes — a vector's spare room, a hash table's empty slots — to be found
        // when it is freed and counted as a copy nobody made.
        // SAFETY: forwarded to `alloc_zeroed`, whose contract is `alloc`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(len) = NonZeroUsize::new(LEN.load(Ordering::SeqCst)) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes that this
            // allocator handed out (the caller's contract for `dealloc`); it is read
            // before it is freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_needle(block, len) {
                let n = FOUND.fetch_add(1, Ordering::SeqCst);
                if let Some(size) = SIZES.get(n) {
                    size.store(layout.size(), Ordering::SeqCst);
                }
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
    armed(needle, f).0
}

/// Like [`freed_blocks_holding`], but returns the size of each block that held
/// `needle` (of the first [`MAX_SIZES`]), in the order they were freed: which
/// allocation kept a secret can often be told by its size.
///
/// # Panics
/// If `needle` is empty or longer than [`MAX_NEEDLE`] bytes.
pub fn freed_block_sizes_holding(needle: &[u8], f: impl FnOnce()) -> Vec<usize> {
    let (found, sizes) = armed(needle, f);
    sizes.into_iter().take(found).collect()
}

fn armed(needle: &[u8], f: impl FnOnce()) -> (usize, [usize; MAX_SIZES]) {
    assert!(
        !needle.is_empty() && needle.len() <= MAX_NEEDLE,
        "a needle of 1 to {MAX_NEEDLE} bytes"
    );
    let _one_at_a_time = RUN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    LEN.store(0, Ordering::SeqCst);
    for (i, to) in NEEDLE.iter().enumerate() {
        to.store(needle.get(i).copied().unwrap_or(0), Ordering::SeqCst);
    }
    for size in &SIZES {
        size.store(0, Ordering::SeqCst);
    }
    FOUND.store(0, Ordering::SeqCst);
    LEN.store(needle.len(), Ordering::SeqCst);
    f();
    LEN.store(0, Ordering::SeqCst);
    let found = FOUND.load(Ordering::SeqCst);
    (found, SIZES.each_ref().map(|s| s.load(Ordering::SeqCst)))
}
