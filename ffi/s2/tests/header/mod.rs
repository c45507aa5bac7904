//! The header's place and text (shared by the freshness test and the `gen_header` example).

use std::path::{Path, PathBuf};

/// The committed header: `<workspace>/include/s2.h`.
pub fn header_path() -> PathBuf {
    ffi_support::header::committed_header(Path::new(env!("CARGO_MANIFEST_DIR")), "s2.h")
}

/// The header text cbindgen generates from the current sources.
pub fn generate() -> String {
    ffi_support::header::generate(Path::new(env!("CARGO_MANIFEST_DIR")))
}
