//! The State Protocol against both real servers: events written with `StateWriter` (plain
//! appends and a producer) materialise as expected, a saved state resumes, notifications
//! follow live appends, and a durable watch dropped midway and resumed from its checkpoint sees
//! every change exactly once.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::{Ctx, within};
use durable_streams_core::state::{
    ChangeEvent, ControlEvent, ControlKind, StateEvent, StateSnapshot, WatchCheckpoint,
    WatchOptions,
};
use durable_streams_core::{
    ErrorKind, LiveMode, MaterializedState, Offset, ProducerOptions, StateWatch, StateWriter,
};
use serde_json::{Value, json};

server_tests!(
    written_events_materialise_with_the_protocols_rules,
    a_producer_writer_materialises_the_same_as_plain_appends,
    a_saved_state_resumes_from_its_offset,
    notifications_follow_live_appends,
    a_resumed_watch_sees_every_change_once,
    a_watch_resumed_over_sse_sees_every_change_once,
    malformed_messages_fail_naming_the_field,
    a_state_started_at_an_offset_replays_only_what_follows,
    a_watch_checkpoint_past_the_data_is_refused,
    a_watch_filters_by_type_and_prefix_and_still_sees_resets,
);

async fn written_events_materialise_with_the_protocols_rules(ctx: Ctx) {
    let stream = ctx.create("state", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    writer
        .insert("user", "1", &json!({"name": "Alice"}))
        .await
        .unwrap();
    writer
        .insert("user", "2", &json!({"name": "Bob"}))
        .await
        .unwrap();
    writer
        .update(
            "user",
            "1",
            &json!({"name": "Alice Smith"}),
            Some(&json!({"name": "Alice"})),
        )
        .await
        .unwrap();
    writer.upsert("config", "theme", &"dark").await.unwrap();
    writer.delete("user", "2").await.unwrap();
    writer.control(ControlKind::SnapshotStart).await.unwrap();
    let tail = writer
        .write_all(&[
            ChangeEvent::insert("flag", "beta", json!(true))
                .with_txid("tx-1")
                .into(),
            ControlEvent::new(ControlKind::SnapshotEnd).into(),
        ])
        .await
        .unwrap()
        .expect("plain appends report their offset");

    let mut state = MaterializedState::new();
    let applied = within(20, "catch-up", state.catch_up(&stream))
        .await
        .unwrap();
    assert_eq!(applied, 8, "[{}]", ctx.kind());
    assert_eq!(
        state.to_json(),
        json!({"user": {"1": {"name": "Alice Smith"}}, "config": {"theme": "dark"},
               "flag": {"beta": true}}),
        "[{}]",
        ctx.kind()
    );
    assert!(!state.in_snapshot());
    assert_eq!(state.offset(), &tail, "[{}]", ctx.kind());

    writer.control(ControlKind::Reset).await.unwrap();
    writer
        .insert("user", "3", &json!({"name": "Carol"}))
        .await
        .unwrap();
    within(20, "catch-up", state.catch_up(&stream))
        .await
        .unwrap();
    assert_eq!(state.to_json(), json!({"user": {"3": {"name": "Carol"}}}));
}

async fn a_producer_writer_materialises_the_same_as_plain_appends(ctx: Ctx) {
    let stream = ctx.create("state-producer", "application/json").await;
    let producer = stream
        .producer("state-writer", ProducerOptions::default())
        .unwrap();
    let writer = StateWriter::with_producer(producer);
    let mut expected = BTreeMap::new();
    for n in 0..500u32 {
        let key = format!("item:{}", n % 50);
        let value = json!({"n": n});
        if n % 7 == 0 {
            writer.delete("item", &key).await.unwrap();
            expected.remove(&key);
        } else {
            writer.upsert("item", &key, &value).await.unwrap();
            expected.insert(key, value);
        }
    }
    let tail = writer
        .flush()
        .await
        .unwrap()
        .expect("the producer reports its offset");
    let mut state = MaterializedState::new();
    assert_eq!(
        within(20, "catch-up", state.catch_up(&stream))
            .await
            .unwrap(),
        500
    );
    let expected: serde_json::Map<String, Value> = expected.into_iter().collect();
    assert_eq!(
        state.to_json(),
        json!({ "item": expected }),
        "[{}]",
        ctx.kind()
    );
    assert_eq!(state.offset(), &tail);
}

async fn a_saved_state_resumes_from_its_offset(ctx: Ctx) {
    let stream = ctx.create("state-resume", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    for n in 0..20 {
        writer
            .upsert("counter", &format!("c{}", n % 5), &n)
            .await
            .unwrap();
    }
    let mut first = MaterializedState::new();
    within(20, "catch-up", first.catch_up(&stream))
        .await
        .unwrap();
    let saved = serde_json::to_string(&first.snapshot()).unwrap();

    for n in 20..30 {
        writer
            .upsert("counter", &format!("c{}", n % 7), &n)
            .await
            .unwrap();
    }
    writer.delete("counter", "c0").await.unwrap();

    let snapshot: StateSnapshot = serde_json::from_str(&saved).unwrap();
    let mut resumed = MaterializedState::from_snapshot(snapshot).unwrap();
    let applied = within(20, "resume", resumed.catch_up(&stream))
        .await
        .unwrap();
    assert_eq!(
        applied,
        11,
        "[{}] only what followed the save is read",
        ctx.kind()
    );

    let mut replayed = MaterializedState::new();
    within(20, "replay", replayed.catch_up(&stream))
        .await
        .unwrap();
    assert_eq!(resumed.to_json(), replayed.to_json(), "[{}]", ctx.kind());
    assert_eq!(resumed.offset(), replayed.offset());
    assert_eq!(resumed.get("counter", "c6"), Some(&json!(27)));
    assert_eq!(resumed.get("counter", "c0"), None);
}

async fn notifications_follow_live_appends(ctx: Ctx) {
    let stream = ctx.create("state-live", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    writer.insert("doc", "a", &json!({"v": 1})).await.unwrap();

    let mut state = MaterializedState::new();
    let mut changes = state.subscribe();
    let mut session = stream.read(state.read_options(LiveMode::Auto));
    let follower = tokio::spawn(async move {
        while state.len() < 2 || state.get("doc", "a") != Some(&json!({"v": 2})) {
            let chunk = session
                .next_chunk()
                .await
                .unwrap()
                .expect("a live read continues");
            state.apply_chunk(&chunk).unwrap();
        }
        state
    });
    writer.insert("doc", "b", &json!({"v": 1})).await.unwrap();
    writer
        .update("doc", "a", &json!({"v": 2}), None)
        .await
        .unwrap();
    let state = within(20, "the live follower", follower).await.unwrap();
    assert_eq!(
        state.to_json(),
        json!({"doc": {"a": {"v": 2}, "b": {"v": 1}}})
    );

    let mut seen = Vec::new();
    while let Ok(change) = changes.try_recv() {
        if let StateEvent::Change(event) = &change.event {
            seen.push((event.key.clone(), change.previous.clone()));
        }
    }
    assert_eq!(
        seen,
        vec![
            ("a".to_owned(), None),
            ("b".to_owned(), None),
            ("a".to_owned(), Some(json!({"v": 1}))),
        ],
        "[{}]",
        ctx.kind()
    );
}

async fn a_resumed_watch_sees_every_change_once(ctx: Ctx) {
    resumed_watch_sees_every_change_once(ctx, LiveMode::LongPoll).await;
}

async fn a_watch_resumed_over_sse_sees_every_change_once(ctx: Ctx) {
    // SSE cuts the data differently from catch-up responses: the message-count checkpoints
    // taken during catch-up must still land exactly.
    resumed_watch_sees_every_change_once(ctx, LiveMode::Sse).await;
}

async fn resumed_watch_sees_every_change_once(ctx: Ctx, last_leg: LiveMode) {
    let stream = ctx.create("state-watch", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    // Several events per append, so checkpoints fall inside responses too.
    let mut expected = Vec::new();
    let mut batch = Vec::new();
    for n in 0..120u32 {
        let (prefix, watched) = if n % 3 == 0 {
            ("user:", false)
        } else {
            ("order:", true)
        };
        let key = format!("{prefix}{n}");
        batch.push(StateEvent::from(ChangeEvent::upsert(
            "entity",
            &key,
            json!(n),
        )));
        if watched {
            expected.push(key);
        }
        if batch.len() == 7 {
            writer.write_all(&batch).await.unwrap();
            batch.clear();
        }
    }
    writer.write_all(&batch).await.unwrap();

    let mut seen = Vec::new();
    let mut saved: Option<String> = None;
    // Three "restarts": each watch handles a few changes, persists the checkpoint, and is dropped.
    for handle in [5usize, 11, 29] {
        let from = saved
            .as_deref()
            .map(|text| text.parse::<WatchCheckpoint>().unwrap())
            .unwrap_or_default();
        let mut watch = StateWatch::new(
            &stream,
            WatchOptions::new("order:").entity_type("entity").from(from),
        );
        for _ in 0..handle {
            let change = within(20, "watch", watch.next()).await.unwrap().unwrap();
            let StateEvent::Change(event) = change.event else {
                panic!("only changes were written");
            };
            seen.push(event.key);
            saved = Some(change.checkpoint.to_string());
        }
    }

    // The last restart follows live and also sees what is written after it.
    let from: WatchCheckpoint = saved.unwrap().parse().unwrap();
    let mut watch = StateWatch::new(
        &stream,
        WatchOptions::new("order:").from(from).live(last_leg),
    );
    for n in 120..130u32 {
        let key = format!("order:{n}");
        writer.upsert("entity", &key, &n).await.unwrap();
        expected.push(key);
    }
    while seen.len() < expected.len() {
        let change = within(20, "live watch", watch.next())
            .await
            .unwrap()
            .unwrap();
        if let StateEvent::Change(event) = change.event {
            seen.push(event.key);
        }
    }
    assert_eq!(
        seen,
        expected,
        "[{}] every change once, in order",
        ctx.kind()
    );
}

async fn malformed_messages_fail_naming_the_field(ctx: Ctx) {
    let stream = ctx.create("state-bad", "application/json").await;
    stream
        .append_json(
            &json!({"type": "t", "key": "k", "value": 1, "headers": {"operation": "insert"}}),
        )
        .await
        .unwrap();
    stream
        .append_json(&json!({"type": "t", "key": "k", "headers": {"operation": "explode"}}))
        .await
        .unwrap();
    let mut state = MaterializedState::new();
    let err = within(20, "catch-up", state.catch_up(&stream))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert!(
        err.message().contains("headers.operation"),
        "[{}] {err}",
        ctx.kind()
    );
    assert!(err.url().is_some());

    let mut watch = StateWatch::new(&stream, WatchOptions::new(""));
    let mut result = Ok(None);
    for _ in 0..3 {
        result = within(20, "watch", watch.next()).await;
        if result.is_err() {
            break;
        }
    }
    let err = result.unwrap_err();
    assert!(err.message().contains("headers.operation"), "{err}");
}

async fn a_state_started_at_an_offset_replays_only_what_follows(ctx: Ctx) {
    let stream = ctx.create("state-from-offset", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    let middle = writer
        .insert("t", "before", &1)
        .await
        .unwrap()
        .expect("an append reports its offset");
    writer.insert("t", "after", &2).await.unwrap();
    let mut state = MaterializedState::starting_at(middle);
    assert_eq!(
        within(20, "catch-up", state.catch_up(&stream))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        state.to_json(),
        json!({"t": {"after": 2}}),
        "[{}]",
        ctx.kind()
    );
}

async fn a_watch_checkpoint_past_the_data_is_refused(ctx: Ctx) {
    let stream = ctx.create("state-watch-past", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    writer
        .write_all(&[
            ChangeEvent::insert("t", "a", json!(1)).into(),
            ChangeEvent::insert("t", "b", json!(2)).into(),
        ])
        .await
        .unwrap();
    let mut watch = StateWatch::new(
        &stream,
        WatchOptions::new("").from(WatchCheckpoint::after(Offset::BEGINNING, 5)),
    );
    let err = within(20, "watch", watch.next()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidOffset,
        "[{}] {err}",
        ctx.kind()
    );
    assert!(err.message().contains("past the data"), "{err}");

    // Exactly at the end is fine: nothing more to see.
    let mut watch = StateWatch::new(
        &stream,
        WatchOptions::new("").from(WatchCheckpoint::after(Offset::BEGINNING, 2)),
    );
    assert_eq!(within(20, "watch", watch.next()).await.unwrap(), None);
}

async fn a_watch_filters_by_type_and_prefix_and_still_sees_resets(ctx: Ctx) {
    let stream = ctx.create("state-watch-filter", "application/json").await;
    let writer = StateWriter::new(stream.clone());
    writer
        .write_all(&[
            ChangeEvent::insert("order", "eu:1", json!(1)).into(),
            ChangeEvent::insert("invoice", "eu:1", json!(2)).into(),
            ChangeEvent::insert("order", "us:1", json!(3)).into(),
            ControlEvent::new(ControlKind::Reset).into(),
            ChangeEvent::delete("order", "eu:1").into(),
        ])
        .await
        .unwrap();
    let mut watch = StateWatch::new(&stream, WatchOptions::new("eu:").entity_type("order"));
    let mut seen = Vec::new();
    while let Some(change) = within(20, "watch", watch.next()).await.unwrap() {
        let mut event = change.event.to_json();
        // The Node server stamps each state message with the offset it is stored at.
        if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
            headers.remove("offset");
        }
        seen.push(event);
    }
    assert_eq!(
        seen,
        vec![
            json!({"type": "order", "key": "eu:1", "value": 1, "headers": {"operation": "insert"}}),
            json!({"headers": {"control": "reset"}}),
            json!({"type": "order", "key": "eu:1", "headers": {"operation": "delete"}}),
        ],
        "[{}]",
        ctx.kind()
    );
    let tail = stream.head().await.unwrap().next_offset;
    assert_eq!(watch.checkpoint(), &WatchCheckpoint::at(tail));
}
