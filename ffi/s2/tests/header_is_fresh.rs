//! The committed C header must match what cbindgen generates from the current sources.

mod header;

#[test]
fn committed_header_matches_the_sources() {
    ffi_support::header::check_fresh(
        &header::header_path(),
        &header::generate(),
        "S2_UPDATE_HEADER",
        "cargo run -p s2-streamstore-ffi --example gen_header",
    );
}
