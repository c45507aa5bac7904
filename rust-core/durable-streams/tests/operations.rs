//! One-shot stream operations against both servers: create, head, delete, append, close.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{Ctx, client_builder, read_all};
use durable_streams_core::{
    AppendOptions, CreateOptions, Decorations, ErrorKind, Operation, decorator_fn,
};
use serde_json::json;

server_tests!(
    create_then_recreate_with_same_config_reports_created_then_existing,
    create_with_different_content_type_is_conflict,
    create_with_ttl_is_visible_in_head,
    create_with_expires_at_is_visible_in_head,
    create_with_ttl_and_expires_at_is_invalid_argument_without_request,
    create_with_initial_body_is_readable,
    create_closed_stream_rejects_appends,
    create_closed_with_body_reads_body_then_eof,
    create_compares_closure_status_for_idempotence,
    create_over_a_closed_stream_says_it_is_closed,
    invalid_ttl_and_expiry_are_rejected,
    head_reports_tail_content_type_and_open_state,
    head_on_missing_stream_is_not_found_with_status_url_and_message,
    delete_then_head_is_not_found,
    delete_missing_stream_is_not_found,
    appends_of_bytes_and_text_are_read_back_in_order,
    append_offsets_increase_strictly,
    append_json_of_an_array_stays_one_message,
    append_json_messages_stores_one_message_per_value,
    raw_json_array_append_is_flattened_one_level,
    append_with_wrong_content_type_is_conflict,
    append_to_missing_stream_is_not_found,
    stream_seq_increasing_is_accepted_and_regression_is_sequence_conflict,
    append_and_close_appends_final_data_and_closes,
    close_is_idempotent,
    append_to_closed_stream_is_stream_closed,
    empty_append_is_invalid_argument_without_a_request,
);

async fn create_then_recreate_with_same_config_reports_created_then_existing(ctx: Ctx) {
    let stream = ctx.stream("create-idem");
    let options = CreateOptions::new().content_type("text/plain");
    let first = stream.create(options.clone()).await.unwrap();
    assert!(first.created, "first PUT answers 201");
    assert!(!first.closed);
    assert!(
        first.next_offset.is_some(),
        "201 carries Stream-Next-Offset"
    );
    assert_eq!(first.content_type.as_deref(), Some("text/plain"));

    let second = stream.create(options).await.unwrap();
    assert!(!second.created, "same config again answers 200");
    assert_eq!(second.next_offset, first.next_offset);
    assert_eq!(stream.content_type().as_deref(), Some("text/plain"));
}

async fn create_with_different_content_type_is_conflict(ctx: Ctx) {
    let stream = ctx.create("create-conflict", "text/plain").await;
    let err = stream
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.url(), Some(stream.url()));
}

async fn create_with_ttl_is_visible_in_head(ctx: Ctx) {
    let stream = ctx.stream("create-ttl");
    stream
        .create(
            CreateOptions::new()
                .content_type("text/plain")
                .ttl(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let info = stream.head().await.unwrap();
    assert_eq!(info.ttl, Some(Duration::from_secs(3600)));
    assert_eq!(info.expires_at, None);
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
}

async fn create_with_expires_at_is_visible_in_head(ctx: Ctx) {
    let stream = ctx.stream("create-expires");
    let at = "2099-06-30T12:34:56Z";
    stream
        .create(
            CreateOptions::new()
                .content_type("application/octet-stream")
                .expires_at(at),
        )
        .await
        .unwrap();
    let info = stream.head().await.unwrap();
    assert_eq!(info.ttl, None);
    // Both servers echo the timestamp as given; accept a normalised form of the same instant.
    let reported = info.expires_at.expect("HEAD reports Stream-Expires-At");
    assert!(
        reported.starts_with("2099-06-30T12:34:56"),
        "[{}] expires_at {reported:?}",
        ctx.kind()
    );
}

async fn create_with_ttl_and_expires_at_is_invalid_argument_without_request(ctx: Ctx) {
    let stream = ctx.stream("create-ttl-and-expires");
    let err = stream
        .create(
            CreateOptions::new()
                .ttl(Duration::from_secs(60))
                .expires_at("2099-01-01T00:00:00Z"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.status(), None, "rejected before any request");
    let missing = stream.head().await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "nothing was created");
}

async fn create_with_initial_body_is_readable(ctx: Ctx) {
    let stream = ctx.stream("create-body");
    let created = stream
        .create(
            CreateOptions::new()
                .content_type("text/plain")
                .body("initial content"),
        )
        .await
        .unwrap();
    assert!(created.created);
    stream.append(" and more").await.unwrap();
    let read = read_all(&stream).await;
    assert_eq!(read.text(), "initial content and more");
    assert!(!read.closed);
}

async fn create_closed_stream_rejects_appends(ctx: Ctx) {
    let stream = ctx.stream("create-closed");
    let created = stream
        .create(CreateOptions::new().content_type("text/plain").closed(true))
        .await
        .unwrap();
    assert!(created.created);
    assert!(created.closed, "201 carries Stream-Closed: true");
    assert!(stream.head().await.unwrap().closed);

    let err = stream.append("too late").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamClosed, "{err}");
    assert_eq!(err.status(), Some(409));

    let read = read_all(&stream).await;
    assert!(read.data.is_empty());
    assert!(read.closed, "an empty closed stream reads as EOF");
}

async fn create_closed_with_body_reads_body_then_eof(ctx: Ctx) {
    let stream = ctx.stream("create-closed-body");
    stream
        .create(
            CreateOptions::new()
                .content_type("text/plain")
                .body("the whole story")
                .closed(true),
        )
        .await
        .unwrap();
    let read = read_all(&stream).await;
    assert_eq!(read.text(), "the whole story");
    assert!(read.closed, "the last chunk says the stream is closed");
    let last = read.chunks.last().expect("at least one chunk");
    assert!(last.closed() && last.up_to_date());
    assert_eq!(&read.offset, &stream.head().await.unwrap().next_offset);
}

async fn head_reports_tail_content_type_and_open_state(ctx: Ctx) {
    let stream = ctx.create("head", "application/json").await;
    let empty = stream.head().await.unwrap();
    assert_eq!(empty.content_type.as_deref(), Some("application/json"));
    assert!(!empty.closed);
    assert_eq!(empty.ttl, None);
    assert_eq!(empty.expires_at, None);

    let appended = stream.append_json(&json!({"n": 1})).await.unwrap();
    let info = stream.head().await.unwrap();
    assert_eq!(
        info.next_offset, appended.next_offset,
        "HEAD reports the tail"
    );
    assert!(info.next_offset.as_str() > empty.next_offset.as_str());

    stream.close().await.unwrap();
    let closed = stream.head().await.unwrap();
    assert!(closed.closed);
    assert_eq!(
        closed.next_offset, appended.next_offset,
        "closing appends nothing"
    );
}

async fn head_on_missing_stream_is_not_found_with_status_url_and_message(ctx: Ctx) {
    let stream = ctx.stream("head-missing");
    let err = stream.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.url(), Some(stream.url()));
    assert!(!err.message().is_empty(), "a message even without a body");
    let shown = err.to_string();
    assert!(
        shown.contains("404") && shown.contains(stream.url()),
        "{shown}"
    );
}

async fn delete_then_head_is_not_found(ctx: Ctx) {
    let stream = ctx.create("delete", "text/plain").await;
    stream.append("data").await.unwrap();
    stream.delete().await.unwrap();
    let err = stream.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = stream
        .read(Default::default())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "reads fail too");
}

async fn delete_missing_stream_is_not_found(ctx: Ctx) {
    let err = ctx.stream("delete-missing").delete().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
}

async fn appends_of_bytes_and_text_are_read_back_in_order(ctx: Ctx) {
    let stream = ctx.create("append-bytes", "application/octet-stream").await;
    stream
        .append(Bytes::from_static(&[0, 1, 2, 255]))
        .await
        .unwrap();
    stream.append(vec![10u8, 13, 0]).await.unwrap();
    stream.append("text").await.unwrap();
    let read = read_all(&stream).await;
    assert_eq!(read.data, b"\x00\x01\x02\xff\x0a\x0d\x00text");

    let text = ctx.create("append-text", "text/plain; charset=utf-8").await;
    text.append("h\u{e9}llo ").await.unwrap();
    text.append(String::from("w\u{f6}rld")).await.unwrap();
    assert_eq!(read_all(&text).await.text(), "h\u{e9}llo w\u{f6}rld");
}

async fn append_offsets_increase_strictly(ctx: Ctx) {
    let stream = ctx.create("append-offsets", "text/plain").await;
    let mut previous = stream.head().await.unwrap().next_offset;
    for i in 0..5 {
        let result = stream.append(format!("message {i}")).await.unwrap();
        assert!(!result.closed);
        assert!(
            result.next_offset.as_str() > previous.as_str(),
            "{:?} after {previous:?}",
            result.next_offset
        );
        previous = result.next_offset;
    }
}

async fn append_json_of_an_array_stays_one_message(ctx: Ctx) {
    let stream = ctx.create("json-array-value", "application/json").await;
    stream.append_json(&json!([1, 2, 3])).await.unwrap();
    stream.append_json(&json!({"k": "v"})).await.unwrap();
    stream.append_json(&json!([])).await.unwrap();
    let messages = read_all(&stream).await.messages();
    assert_eq!(
        messages,
        vec![json!([1, 2, 3]), json!({"k": "v"}), json!([])]
    );
}

async fn append_json_messages_stores_one_message_per_value(ctx: Ctx) {
    let stream = ctx.create("json-messages", "application/json").await;
    stream
        .append_json_messages([json!({"a": 1}), json!([2, 3]), json!("four")])
        .await
        .unwrap();
    let read = read_all(&stream).await;
    assert_eq!(
        read.messages(),
        vec![json!({"a": 1}), json!([2, 3]), json!("four")]
    );

    let err = stream
        .append_json_messages(Vec::<serde_json::Value>::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidArgument,
        "no messages is a caller error"
    );
}

async fn raw_json_array_append_is_flattened_one_level(ctx: Ctx) {
    let stream = ctx.create("json-raw", "application/json").await;
    stream.append(r#"[{"a":1},{"b":2}]"#).await.unwrap();
    stream.append(r#"[[1,2],[3]]"#).await.unwrap();
    stream.append(r#"{"single":true}"#).await.unwrap();
    let messages = read_all(&stream).await.messages();
    assert_eq!(
        messages,
        vec![
            json!({"a": 1}),
            json!({"b": 2}),
            json!([1, 2]),
            json!([3]),
            json!({"single": true})
        ]
    );
    let err = stream.append("[]").await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::BadRequest,
        "an empty array append is a 400: {err}"
    );
    let err = stream.append("{not json").await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::BadRequest,
        "invalid JSON is a 400: {err}"
    );
}

async fn append_with_wrong_content_type_is_conflict(ctx: Ctx) {
    let stream = ctx.create("append-wrong-ct", "text/plain").await;
    let err = stream
        .append_with(
            Bytes::from_static(b"{}"),
            AppendOptions::new().content_type("application/json"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.status(), Some(409));
}

async fn append_to_missing_stream_is_not_found(ctx: Ctx) {
    let stream = ctx.stream("append-missing");
    let err = stream
        .append_with(
            Bytes::from_static(b"x"),
            AppendOptions::new().content_type("text/plain"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // Without a known content type the handle asks HEAD first, which is a 404 as well.
    let err = stream.append("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

async fn stream_seq_increasing_is_accepted_and_regression_is_sequence_conflict(ctx: Ctx) {
    let stream = ctx.create("stream-seq", "text/plain").await;
    for seq in ["0001", "0002", "0010"] {
        stream
            .append_with(Bytes::from(seq), AppendOptions::new().seq(seq))
            .await
            .unwrap_or_else(|e| panic!("seq {seq}: {e}"));
    }
    for stale in ["0010", "0003"] {
        let err = stream
            .append_with(
                Bytes::from_static(b"stale"),
                AppendOptions::new().seq(stale),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::SequenceConflict,
            "seq {stale}: {err}"
        );
        assert_eq!(err.status(), Some(409));
    }
    assert_eq!(read_all(&stream).await.text(), "000100020010");
}

async fn append_and_close_appends_final_data_and_closes(ctx: Ctx) {
    let stream = ctx.create("append-close", "text/plain").await;
    stream.append("first ").await.unwrap();
    let result = stream.append_and_close("last").await.unwrap();
    assert!(result.closed);
    let info = stream.head().await.unwrap();
    assert!(info.closed);
    assert_eq!(info.next_offset, result.next_offset);
    let read = read_all(&stream).await;
    assert_eq!(read.text(), "first last");
    assert!(read.closed);

    // Append-and-close is not idempotent: a second one finds the stream closed.
    let err = stream.append_and_close("again").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamClosed, "{err}");
}

async fn close_is_idempotent(ctx: Ctx) {
    let stream = ctx.create("close-twice", "text/plain").await;
    let appended = stream.append("data").await.unwrap();
    let first = stream.close().await.unwrap();
    assert!(first.closed);
    assert_eq!(first.next_offset, appended.next_offset);
    let second = stream.close().await.unwrap();
    assert!(second.closed);
    assert_eq!(second.next_offset, first.next_offset);
}

async fn append_to_closed_stream_is_stream_closed(ctx: Ctx) {
    let stream = ctx.create("append-after-close", "text/plain").await;
    stream.append("data").await.unwrap();
    stream.close().await.unwrap();
    let err = stream.append("more").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamClosed, "{err}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.url(), Some(stream.url()));
    assert_eq!(
        read_all(&stream).await.text(),
        "data",
        "nothing was appended"
    );
}

async fn empty_append_is_invalid_argument_without_a_request(ctx: Ctx) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = client_builder()
        .decorator(decorator_fn(move |info| {
            if info.operation != Operation::Create {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Decorations::default())
        }))
        .build()
        .unwrap();
    let ctx = Ctx::with_client(ctx.server, client);
    let stream = ctx.create("append-empty", "text/plain").await;
    for result in [
        stream.append(Bytes::new()).await,
        stream.append("").await,
        stream
            .append_with(Bytes::new(), AppendOptions::new().seq("1"))
            .await,
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert_eq!(err.status(), None);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no request was decorated or sent"
    );
}

async fn create_compares_closure_status_for_idempotence(ctx: Ctx) {
    let closed = ctx.stream("create-closed-idem");
    let options = CreateOptions::new().content_type("text/plain");
    assert!(
        closed
            .create(options.clone().closed(true))
            .await
            .unwrap()
            .created
    );
    let again = closed.create(options.clone().closed(true)).await.unwrap();
    assert!(!again.created && again.closed, "same config, closed: 200");
    let err = closed.create(options.clone()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "open PUT on a closed stream: {err}"
    );

    let open = ctx.create("create-open-idem", "text/plain").await;
    let err = open.create(options.closed(true)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "closed PUT on an open stream: {err}"
    );
}

async fn create_over_a_closed_stream_says_it_is_closed(ctx: Ctx) {
    // Servers answer only "different configuration" (no Stream-Closed on the 409).
    let stream = ctx.create("create-over-closed", "text/plain").await;
    stream.close().await.unwrap();
    let err = stream
        .create(CreateOptions::new().content_type("text/plain"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.url(), Some(stream.url()));
    assert!(
        err.message().contains("exists and is closed"),
        "the message says the stream is closed: {err}"
    );

    // A conflict on an open stream does not claim it is closed.
    let open = ctx.create("create-over-open", "text/plain").await;
    let err = open
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(!err.message().contains("closed"), "{err}");
}

async fn invalid_ttl_and_expiry_are_rejected(ctx: Ctx) {
    let stream = ctx.stream("create-bad-expiry");
    let err = stream
        .create(CreateOptions::new().ttl(Duration::from_millis(1500)))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidArgument,
        "TTLs are whole seconds: {err}"
    );
    assert_eq!(err.status(), None);

    let err = stream
        .create(CreateOptions::new().expires_at("tomorrow at noon"))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::BadRequest,
        "the server validates RFC 3339: {err}"
    );
    assert_eq!(err.status(), Some(400));
    assert_eq!(stream.head().await.unwrap_err().kind(), ErrorKind::NotFound);
}
