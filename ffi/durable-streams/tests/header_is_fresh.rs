//! The committed C header must match what cbindgen generates from the current sources.
//! `DS_UPDATE_HEADER=1 cargo test -p durable-streams-ffi --test header_is_fresh` (or
//! `cargo run -p durable-streams-ffi --example gen_header`) rewrites it.

mod header;

#[test]
fn committed_header_matches_the_sources() {
    let generated = header::generate();
    let path = header::header_path();
    if std::env::var_os("DS_UPDATE_HEADER").is_some_and(|v| v == "1") {
        header::write_if_changed(&path, &generated);
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "{} is stale (first difference at {line}).\nRegenerate it with:\n  \
             cargo run -p durable-streams-ffi --example gen_header\nor:\n  \
             DS_UPDATE_HEADER=1 cargo test -p durable-streams-ffi --test header_is_fresh",
            path.display()
        );
    }
}
