//! A server's private directory under the system temporary directory, removed on drop.
//!
//! (Written here rather than taken from `tempfile` so that the harness adds no dependency
//! whose features would differ between a workspace build and a build of the C library alone:
//! such a difference makes cargo compile the HTTP stack twice.)

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory that is deleted, with its contents, when dropped.
#[derive(Debug)]
pub(crate) struct ServerDir {
    path: PathBuf,
}

impl ServerDir {
    /// Creates `<temp>/<prefix><unique>`; the name is unique across threads and processes.
    pub(crate) fn create(prefix: &str) -> io::Result<ServerDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{prefix}{}-{nanos:x}-{n}", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(ServerDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("no free name for a {prefix}* directory"),
        ))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ServerDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_unique_and_removed_on_drop() {
        let a = ServerDir::create("ds-harness-dir-test-").unwrap();
        let b = ServerDir::create("ds-harness-dir-test-").unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("file"), b"x").unwrap();
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().is_dir());
    }
}
