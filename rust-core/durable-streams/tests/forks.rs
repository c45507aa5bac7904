//! Forking (`PUT` with `Stream-Forked-From`) against both servers. Both Electric's server and
//! the Node reference server support forks, so no test here has to expect "unsupported".

#[macro_use]
mod common;

use common::{Ctx, catch_up, read_all, within};
use durable_streams_core::{CreateOptions, ErrorKind, ForkFrom, LiveMode, ReadOptions};
use durable_streams_test_harness::ServerKind;
use serde_json::json;

server_tests!(
    fork_at_offset_inherits_data_before_it_and_keeps_its_own_appends,
    fork_at_tail_inherits_everything_and_not_later_source_appends,
    fork_shares_the_source_offset_space,
    fork_of_json_stream_inherits_messages,
    fork_inherits_content_type_and_rejects_a_different_one,
    fork_with_same_config_again_is_idempotent,
    fork_of_closed_stream_starts_open,
    fork_from_missing_source_is_not_found,
    fork_source_given_as_a_url_path_forks_on_the_same_server,
    fork_source_on_another_server_is_invalid_argument_without_a_request,
    fork_with_sub_offset_inherits_part_of_an_append,
    fork_offset_beyond_the_source_tail_is_bad_request,
    long_poll_on_fork_wakes_for_fork_appends_only,
);

async fn fork_at_offset_inherits_data_before_it_and_keeps_its_own_appends(ctx: Ctx) {
    let source = ctx.create("fork-src", "text/plain").await;
    let first = source.append("a1 ").await.unwrap();
    source.append("a2 ").await.unwrap();
    source.append("a3").await.unwrap();

    let fork = ctx.stream("fork-at");
    let created = fork
        .create(
            CreateOptions::new().fork(ForkFrom::new(source.url()).at(first.next_offset.clone())),
        )
        .await
        .unwrap();
    assert!(created.created);
    assert_eq!(created.next_offset.as_ref(), Some(&first.next_offset));
    assert_eq!(
        created.content_type.as_deref(),
        Some("text/plain"),
        "inherited"
    );

    fork.append("f1").await.unwrap();
    assert_eq!(read_all(&fork).await.text(), "a1 f1");
    assert_eq!(
        read_all(&source).await.text(),
        "a1 a2 a3",
        "the source is unchanged"
    );
}

async fn fork_at_tail_inherits_everything_and_not_later_source_appends(ctx: Ctx) {
    let source = ctx
        .create("fork-tail-src", "application/octet-stream")
        .await;
    source.append(vec![1u8, 2, 3]).await.unwrap();
    let tail = source.append(vec![4u8, 5]).await.unwrap().next_offset;

    let fork = ctx.stream("fork-tail");
    let created = fork
        .create(CreateOptions::new().fork(ForkFrom::new(source.url())))
        .await
        .unwrap();
    assert_eq!(created.next_offset, Some(tail));

    source.append(vec![6u8]).await.unwrap();
    fork.append(vec![9u8]).await.unwrap();
    assert_eq!(read_all(&fork).await.data, [1, 2, 3, 4, 5, 9]);
    assert_eq!(read_all(&source).await.data, [1, 2, 3, 4, 5, 6]);
}

async fn fork_shares_the_source_offset_space(ctx: Ctx) {
    let source = ctx.create("fork-offsets-src", "text/plain").await;
    let mid = source.append("inherited").await.unwrap().next_offset;
    let fork = ctx.stream("fork-offsets");
    fork.create(CreateOptions::new().fork(ForkFrom::new(source.url())))
        .await
        .unwrap();
    fork.append("own").await.unwrap();
    // An offset minted by the source is valid on the fork and means the same position.
    let later = catch_up(&fork, mid).await;
    assert_eq!(later.text(), "own");
}

async fn fork_of_json_stream_inherits_messages(ctx: Ctx) {
    let source = ctx.create("fork-json-src", "application/json").await;
    let at = source
        .append_json_messages([json!({"n": 1}), json!({"n": 2})])
        .await
        .unwrap()
        .next_offset;
    source.append_json(&json!({"n": 3})).await.unwrap();

    let fork = ctx.stream("fork-json");
    fork.create(
        CreateOptions::new()
            .content_type("application/json")
            .fork(ForkFrom::new(source.url()).at(at)),
    )
    .await
    .unwrap();
    fork.append_json(&json!({"fork": true})).await.unwrap();
    assert_eq!(
        read_all(&fork).await.messages(),
        vec![json!({"n": 1}), json!({"n": 2}), json!({"fork": true})],
        "one JSON array spanning the fork boundary"
    );
}

async fn fork_inherits_content_type_and_rejects_a_different_one(ctx: Ctx) {
    let source = ctx.create("fork-ct-src", "application/json").await;
    let fork = ctx.stream("fork-ct");
    fork.create(CreateOptions::new().fork(ForkFrom::new(source.url())))
        .await
        .unwrap();
    assert_eq!(
        fork.head().await.unwrap().content_type.as_deref(),
        Some("application/json")
    );

    let other = ctx.stream("fork-ct-mismatch");
    let err = other
        .create(
            CreateOptions::new()
                .content_type("text/plain")
                .fork(ForkFrom::new(source.url())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
}

async fn fork_with_same_config_again_is_idempotent(ctx: Ctx) {
    let source = ctx.create("fork-idem-src", "text/plain").await;
    let at = source.append("abc").await.unwrap().next_offset;
    let fork = ctx.stream("fork-idem");
    let options = CreateOptions::new()
        .content_type("text/plain")
        .fork(ForkFrom::new(source.url()).at(at.clone()));
    assert!(fork.create(options.clone()).await.unwrap().created);
    assert!(
        !fork.create(options).await.unwrap().created,
        "200 the second time"
    );

    // Repeating a fork PUT that omits Content-Type (the fork inherited it): Electric answers
    // 200; the Node server compares the missing header as `application/octet-stream` against
    // the inherited type and answers 409, although the spec asks for 200 here.
    let inherited = ctx.stream("fork-idem-inherited");
    let options = CreateOptions::new().fork(ForkFrom::new(source.url()).at(at));
    assert!(inherited.create(options.clone()).await.unwrap().created);
    match (ctx.kind(), inherited.create(options).await) {
        (_, Ok(again)) => assert!(!again.created),
        (ServerKind::Node, Err(e)) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
        (kind, Err(e)) => panic!("[{kind}] repeating an identical fork failed: {e}"),
    }
}

async fn fork_of_closed_stream_starts_open(ctx: Ctx) {
    let source = ctx.create("fork-closed-src", "text/plain").await;
    source.append_and_close("final").await.unwrap();
    let fork = ctx.stream("fork-closed");
    let created = fork
        .create(CreateOptions::new().fork(ForkFrom::new(source.url())))
        .await
        .unwrap();
    assert!(!created.closed);
    fork.append(" continued").await.unwrap();
    let read = read_all(&fork).await;
    assert_eq!(read.text(), "final continued");
    assert!(!read.closed);
}

async fn fork_from_missing_source_is_not_found(ctx: Ctx) {
    let missing = ctx.stream("fork-no-such-source");
    let fork = ctx.stream("fork-orphan");
    let err = fork
        .create(CreateOptions::new().fork(ForkFrom::new(missing.url())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.status(), Some(404));
    assert_eq!(fork.head().await.unwrap_err().kind(), ErrorKind::NotFound);
}

async fn long_poll_on_fork_wakes_for_fork_appends_only(ctx: Ctx) {
    let source = ctx.create("fork-live-src", "text/plain").await;
    source.append("base ").await.unwrap();
    let fork = ctx.stream("fork-live");
    let tail = fork
        .create(CreateOptions::new().fork(ForkFrom::new(source.url())))
        .await
        .unwrap()
        .next_offset
        .expect("fork tail");

    let mut session = fork.read(ReadOptions::new().offset(tail).live(LiveMode::LongPoll));
    let first = within(10, "catch-up at the fork tail", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(first.up_to_date() && !first.has_data());

    let source_writer = source.clone();
    let fork_writer = fork.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        source_writer.append("source-only").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        fork_writer.append("fork-data").await.unwrap();
    });
    let chunk = within(10, "a long-poll on the fork", async {
        loop {
            let chunk = session
                .next_chunk()
                .await
                .unwrap()
                .expect("session continues");
            if chunk.has_data() {
                return chunk;
            }
        }
    })
    .await;
    assert_eq!(chunk.text().unwrap(), "fork-data");
    writer.await.unwrap();
    assert_eq!(read_all(&fork).await.text(), "base fork-data");
}

async fn fork_with_sub_offset_inherits_part_of_an_append(ctx: Ctx) {
    // JSON: the sub-offset counts messages past the anchor.
    let source = ctx.stream("fork-sub-json-src");
    let anchor = source
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap()
        .next_offset
        .expect("tail of the empty stream");
    source
        .append_json_messages([json!("a"), json!("b"), json!("c")])
        .await
        .unwrap();
    let fork = ctx.stream("fork-sub-json");
    fork.create(CreateOptions::new().fork(ForkFrom::new(source.url()).at(anchor).sub_offset(2)))
        .await
        .unwrap();
    assert_eq!(
        read_all(&fork).await.messages(),
        vec![json!("a"), json!("b")]
    );

    // Other content types: the sub-offset counts bytes.
    let text = ctx.stream("fork-sub-text-src");
    let anchor = text
        .create(CreateOptions::new().content_type("text/plain"))
        .await
        .unwrap()
        .next_offset
        .unwrap();
    text.append("hello world").await.unwrap();
    let fork = ctx.stream("fork-sub-text");
    fork.create(CreateOptions::new().fork(ForkFrom::new(text.url()).at(anchor).sub_offset(5)))
        .await
        .unwrap();
    fork.append(", fork").await.unwrap();
    assert_eq!(read_all(&fork).await.text(), "hello, fork");
}

async fn fork_offset_beyond_the_source_tail_is_bad_request(ctx: Ctx) {
    let source = ctx.create("fork-beyond-src", "text/plain").await;
    source.append("short").await.unwrap();
    // Both servers use this offset format; the position is far past the tail.
    let beyond = durable_streams_core::Offset::parse("0000000000000000_0000000000999999").unwrap();
    let fork = ctx.stream("fork-beyond");
    let err = fork
        .create(CreateOptions::new().fork(ForkFrom::new(source.url()).at(beyond)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    assert_eq!(err.status(), Some(400));
}

async fn fork_source_given_as_a_url_path_forks_on_the_same_server(ctx: Ctx) {
    // The test client has no base URL: a path names a stream on the fork's own server.
    let name = common::unique_name("fork-path-src");
    let source = ctx.stream_named(&name);
    source
        .create(CreateOptions::new().content_type("text/plain"))
        .await
        .unwrap();
    source.append("by path").await.unwrap();
    let fork = ctx.stream("fork-path");
    let path = ctx.server.stream_path(&name);
    fork.create(CreateOptions::new().fork(ForkFrom::new(path.as_str())))
        .await
        .unwrap_or_else(|e| panic!("forking from {path:?}: {e}"));
    assert_eq!(read_all(&fork).await.text(), "by path");

    // With a base URL, a path is relative to it, as for `Client::stream`.
    let based = common::client_builder()
        .base_url(ctx.server.stream_prefix_url())
        .build()
        .unwrap();
    let fork = based.stream(&common::unique_name("fork-base")).unwrap();
    fork.create(CreateOptions::new().fork(ForkFrom::new(name.as_str())))
        .await
        .unwrap();
    assert_eq!(read_all(&fork).await.text(), "by path");
}

async fn fork_source_on_another_server_is_invalid_argument_without_a_request(ctx: Ctx) {
    // Forks cannot cross servers; sending only the path would fork whatever stream has the same
    // path on this server.
    let name = common::unique_name("fork-remote-src");
    let local_twin = ctx.stream_named(&name);
    local_twin
        .create(CreateOptions::new().content_type("text/plain"))
        .await
        .unwrap();
    let remote = format!(
        "http://127.0.0.1:{}{}",
        common::unused_port(),
        ctx.server.stream_path(&name)
    );
    let fork = ctx.stream("fork-remote");
    let err = fork
        .create(CreateOptions::new().fork(ForkFrom::new(remote)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().starts_with("fork.source"), "{err}");
    assert_eq!(err.status(), None);
    assert_eq!(fork.head().await.unwrap_err().kind(), ErrorKind::NotFound);
}
