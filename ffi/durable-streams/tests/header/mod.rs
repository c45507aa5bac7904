//! The header's place and text (shared by the freshness test and the `gen_header` example).

use std::path::{Path, PathBuf};

/// The committed header: `<workspace>/include/durable_streams.h`.
pub fn header_path() -> PathBuf {
    ffi_support::header::committed_header(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "durable_streams.h",
    )
}

/// The header text cbindgen generates from the current sources.
pub fn generate() -> String {
    ffi_support::header::generate(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Writes `text` to `path` if it differs; returns whether it changed.
#[allow(dead_code)] // used by the example, not the test
pub fn write_if_changed(path: &Path, text: &str) -> bool {
    ffi_support::header::write_if_changed(path, text)
}
