//! Regenerates `include/s2.h` from the crate sources:
//! `cargo run -p s2-streamstore-ffi --example gen_header`.

#[path = "../tests/header/mod.rs"]
mod header;

fn main() {
    let path = header::header_path();
    let changed = ffi_support::header::write_if_changed(&path, &header::generate());
    let status = if changed { "updated" } else { "unchanged" };
    println!("{}: {status}", path.display());
}
