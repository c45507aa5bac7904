//! Generating a library's C header with cbindgen, for its freshness test and its generator
//! example (feature `header`, so ordinary builds do not compile cbindgen).

use std::path::{Path, PathBuf};

/// The header text cbindgen generates from the crate in `crate_dir` (with its `cbindgen.toml`).
pub fn generate(crate_dir: &Path) -> String {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

/// `<workspace>/include/<name>` for a crate two levels below the workspace root.
pub fn committed_header(crate_dir: &Path, name: &str) -> PathBuf {
    crate_dir.join("../..").join("include").join(name)
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

/// The freshness check: panics with the regeneration commands when the committed header at
/// `path` differs from `generated`; rewrites it instead when `update_variable` is `1`.
pub fn check_fresh(path: &Path, generated: &str, update_variable: &str, regenerate: &str) {
    if std::env::var_os(update_variable).is_some_and(|v| v == "1") {
        write_if_changed(path, generated);
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "{} is stale (first difference at {line}).\nRegenerate it with:\n  {regenerate}\nor \
             set {update_variable}=1 and run the test again",
            path.display()
        );
    }
}
