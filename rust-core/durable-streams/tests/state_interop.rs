//! Interoperability with the TypeScript package `@durable-streams/state` 0.3.1, on both real
//! servers: events it writes materialise in our `MaterializedState` exactly as in its own, and
//! events our `StateWriter` writes materialise in its `MaterializedState` exactly as in ours,
//! compared as JSON.
//!
//! The Node side is `tests/state_interop/interop.mjs`; its packages are installed with
//! `npm install` into `target/tmp/state-interop-npm-0.3.1` on first use. Without npm the tests
//! are skipped with a message saying so.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::{Ctx, read_all, within};
use durable_streams_core::state::{ChangeEvent, ControlEvent, ControlKind, StateEvent};
use durable_streams_core::{MaterializedState, StateWriter};
use serde_json::{Value, json};

server_tests!(
    events_written_by_the_npm_package_materialise_identically_here,
    events_written_here_materialise_identically_in_the_npm_package,
);

const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/state_interop");

fn npm_available() -> bool {
    Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The directory with the script and its installed packages, or `None` without npm.
fn node_project() -> Option<PathBuf> {
    static INSTALL: Mutex<()> = Mutex::new(());
    if !npm_available() {
        eprintln!(
            "SKIPPED: npm is not installed, so the interoperability tests with \
             @durable-streams/state cannot run"
        );
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("state-interop-npm-0.3.1");
    let _one_install = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["package.json", "interop.mjs"] {
        std::fs::copy(Path::new(SOURCE_DIR).join(file), dir.join(file)).unwrap();
    }
    let installed = dir.join("node_modules/@durable-streams/state/package.json");
    let has_version = std::fs::read_to_string(&installed)
        .is_ok_and(|manifest| manifest.contains("\"version\": \"0.3.1\""));
    if !has_version {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "npm install in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(dir)
}

/// Runs the interop script with `args`; returns its standard output.
async fn node(dir: &Path, args: &[&str]) -> String {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("interop.mjs")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("node runs")
    });
    let out = within(60, "the Node script", run).await.unwrap();
    assert!(
        out.status.success(),
        "node interop.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints UTF-8")
}

async fn npm_materialised(dir: &Path, url: &str) -> Value {
    let printed = node(dir, &["materialize", url]).await;
    serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{e}: {printed}"))
}

async fn events_written_by_the_npm_package_materialise_identically_here(ctx: Ctx) {
    let Some(dir) = node_project() else { return };
    let stream = ctx.create("npm-written", "application/json").await;
    node(&dir, &["write", stream.url()]).await;

    // Every message is one of ours, and serialises back to exactly what the package wrote.
    let raw = read_all(&stream).await.messages();
    assert_eq!(raw.len(), 12, "[{}]", ctx.kind());
    for message in &raw {
        let event = StateEvent::from_value(message).unwrap();
        assert_eq!(&event.to_json(), message, "[{}]", ctx.kind());
    }

    let mut ours = MaterializedState::new();
    within(20, "catch-up", ours.catch_up(&stream))
        .await
        .unwrap();
    let theirs = npm_materialised(&dir, stream.url()).await;
    let expected = json!({
        "user": {"3": {"id": "3", "name": "Carol"}},
        "note": {"n:2": {"id": "n:2", "text": "after reset"}},
    });
    assert_eq!(
        theirs,
        expected,
        "[{}] the package's own result",
        ctx.kind()
    );
    assert_eq!(ours.to_json(), theirs, "[{}]", ctx.kind());
}

async fn events_written_here_materialise_identically_in_the_npm_package(ctx: Ctx) {
    let Some(dir) = node_project() else { return };
    let stream = ctx.create("rust-written", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    writer
        .insert("user", "1", &json!({"name": "Alice", "tags": ["a", "b"]}))
        .await
        .unwrap();
    writer
        .write(
            ChangeEvent::update("user", "1", json!({"name": "Alice Smith"}))
                .with_old_value(json!({"name": "Alice"}))
                .with_txid("tx-1")
                .with_timestamp("2025-01-15T10:35:00Z")
                .with_header("x-origin", "rust"),
        )
        .await
        .unwrap();
    writer
        .update("user", "ghost", &json!({"created": "by update"}), None)
        .await
        .unwrap();
    writer
        .insert("user", "1", &json!({"name": "Alice again"}))
        .await
        .unwrap();
    writer.control(ControlKind::SnapshotStart).await.unwrap();
    writer
        .write_all(&[
            ChangeEvent::upsert("note", "n:1", json!({"text": "héllo 😀", "n": 1.5})).into(),
            ChangeEvent::upsert("note", "n:2", json!(null)).into(),
            ChangeEvent::insert("counter", "c", json!(42)).into(),
            ControlEvent::new(ControlKind::SnapshotEnd)
                .with_offset("snap-1")
                .into(),
        ])
        .await
        .unwrap();
    writer.delete("note", "n:2").await.unwrap();
    writer.delete("note", "never-existed").await.unwrap();
    writer.insert("gone", "g", &json!({"x": 1})).await.unwrap();
    writer.delete("gone", "g").await.unwrap();

    let mut ours = MaterializedState::new();
    within(20, "catch-up", ours.catch_up(&stream))
        .await
        .unwrap();
    let theirs = npm_materialised(&dir, stream.url()).await;
    let expected = json!({
        "user": {"1": {"name": "Alice again"}, "ghost": {"created": "by update"}},
        "note": {"n:1": {"text": "héllo 😀", "n": 1.5}},
        "counter": {"c": 42},
    });
    assert_eq!(ours.to_json(), expected, "[{}]", ctx.kind());
    assert_eq!(theirs, ours.to_json(), "[{}]", ctx.kind());

    // A reset written here clears the package's state too.
    writer.control(ControlKind::Reset).await.unwrap();
    writer
        .upsert("user", "9", &json!({"name": "Zed"}))
        .await
        .unwrap();
    within(20, "catch-up", ours.catch_up(&stream))
        .await
        .unwrap();
    let theirs = npm_materialised(&dir, stream.url()).await;
    assert_eq!(
        theirs,
        json!({"user": {"9": {"name": "Zed"}}}),
        "[{}]",
        ctx.kind()
    );
    assert_eq!(ours.to_json(), theirs, "[{}]", ctx.kind());
}
