//! A private temporary directory for a test's records, shared by the test binaries.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory of the test's own, private to its owner (0700: the server
/// refuses a database in a directory others may write, such as `/tmp` itself). The
/// caller removes it; [`TempDir`] removes itself.
pub(crate) fn temp_dir(kind: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pw-auth-{kind}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// A [`temp_dir`] removed, with everything in it, when this is dropped (a failed
/// test's too, as its panic unwinds).
#[allow(
    dead_code,
    reason = "not every test binary that shares this file uses it"
)]
pub(crate) struct TempDir(PathBuf);

#[allow(
    dead_code,
    reason = "not every test binary that shares this file uses it"
)]
impl TempDir {
    /// A fresh private directory named after `kind`.
    pub(crate) fn new(kind: &str) -> TempDir {
        TempDir(temp_dir(kind))
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
