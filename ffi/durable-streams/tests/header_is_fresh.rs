//! The committed C header must match what cbindgen generates from the current sources.
//! `DS_UPDATE_HEADER=1 cargo test -p durable-streams-ffi --test header_is_fresh` (or
//! `cargo run -p durable-streams-ffi --example gen_header`) rewrites it.

mod header;

#[test]
fn committed_header_matches_the_sources() {
    ffi_support::header::check_fresh(
        &header::header_path(),
        &header::generate(),
        "DS_UPDATE_HEADER",
        "cargo run -p durable-streams-ffi --example gen_header",
    );
}
