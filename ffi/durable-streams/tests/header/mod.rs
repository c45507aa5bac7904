//! Generates the C header from the crate sources with cbindgen (shared by the freshness test
//! and the `gen_header` example).

use std::path::{Path, PathBuf};

/// The crate directory (where `cbindgen.toml` lives).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed header: `<workspace>/include/durable_streams.h`.
pub fn header_path() -> PathBuf {
    crate_dir()
        .join("../..")
        .join("include")
        .join("durable_streams.h")
}

/// The header text cbindgen generates from the current sources.
pub fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

/// Writes `text` to `path` if it differs; returns whether it changed.
pub fn write_if_changed(path: &Path, text: &str) -> bool {
    if std::fs::read_to_string(path).is_ok_and(|current| current == text) {
        return false;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {parent:?}: {e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
    true
}
