//! Secrets never leave the library in text: a token in the stream URL's query, a password in its
//! user info, a decorated query parameter or header must not appear in any error's message,
//! URL, `Display` or `Debug`, nor in events, whatever the failure. (Local fake servers only.)

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{FakeServer, client_builder, fast_retries, http_response, unused_port, within};
use durable_streams_core::{
    Client, Decorations, Error, ErrorKind, EventLevel, LiveMode, ReadOptions, RetryPolicy, Stream,
    decorator_fn, event_fn,
};

const SENTINEL: &str = "S3CRET-SENTINEL";

/// A client whose decorator adds the sentinel as a query parameter and a header, reporting
/// every event's text to `heard`.
fn secret_client(retry: RetryPolicy, heard: Arc<Mutex<Vec<String>>>) -> Client {
    client_builder()
        .request_timeout(Duration::from_secs(3))
        .retry_policy(retry)
        .header("authorization", format!("Bearer {SENTINEL}"))
        .decorator(decorator_fn(|_| {
            Ok(Decorations {
                headers: vec![("x-token".into(), SENTINEL.into())],
                query: vec![("token".into(), SENTINEL.into())],
            })
        }))
        .event_sink(event_fn(EventLevel::Debug, move |event| {
            heard.lock().unwrap().push(format!(
                "{} {} {} {:?}",
                event.kind.name(),
                event.stream_url,
                event.message,
                event.fields
            ));
        }))
        .build()
        .unwrap()
}

/// `base` (a server's URL) with the sentinel as password and query value.
fn secret_url(base: &str, path: &str) -> String {
    let with_user = base.replacen("http://", &format!("http://me:{SENTINEL}@"), 1);
    format!("{with_user}/{path}?sig={SENTINEL}&v=1")
}

fn assert_clean(what: &str, err: &Error) {
    let texts = [
        err.to_string(),
        format!("{err:?}"),
        err.message().to_owned(),
        err.url().unwrap_or_default().to_owned(),
        err.clone().to_string(),
    ];
    for text in texts {
        assert!(!text.contains(SENTINEL), "{what}: {text}");
    }
    let url = err
        .url()
        .unwrap_or_else(|| panic!("{what}: no URL in {err}"));
    assert!(
        url.contains("?sig=<redacted>&v=<redacted>"),
        "{what}: {url}"
    );
    assert!(!url.contains('@'), "{what}: {url}");
}

async fn failures(stream: &Stream) -> Vec<(&'static str, Error)> {
    let mut out = vec![
        ("head", stream.head().await.unwrap_err()),
        ("append", stream.append("x").await.unwrap_err()),
    ];
    for (name, mode) in [("read", LiveMode::Off), ("read sse", LiveMode::Sse)] {
        let mut session = stream.read(ReadOptions::new().live(mode));
        out.push((
            name,
            within(10, name, session.next_chunk()).await.unwrap_err(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_errors_carry_no_secret() {
    let fake = FakeServer::start(|_| http_response("404 Not Found", &[], b"no such stream"));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let client = secret_client(RetryPolicy::none(), heard.clone());
    let stream = client.stream(&secret_url(&fake.base_url, "s")).unwrap();
    stream.set_content_type("text/plain");
    for (what, err) in failures(&stream).await {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
        assert_clean(what, &err);
    }
    // The secrets did reach the server: they were redacted, not dropped.
    let requests = fake.requests();
    assert!(
        requests[0].contains(&format!("sig={SENTINEL}")),
        "{requests:?}"
    );
    assert!(
        requests[0].contains(&format!("token={SENTINEL}")),
        "{requests:?}"
    );
    let heard = heard.lock().unwrap();
    assert!(heard.iter().all(|e| !e.contains(SENTINEL)), "{heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_errors_carry_no_secret() {
    let base = format!("http://127.0.0.1:{}", unused_port());
    let heard = Arc::new(Mutex::new(Vec::new()));
    let client = secret_client(fast_retries(), heard.clone());
    let stream = client.stream(&secret_url(&base, "s")).unwrap();
    stream.set_content_type("text/plain");
    for (what, err) in failures(&stream).await {
        assert_eq!(err.kind(), ErrorKind::Network, "{what}: {err}");
        assert_clean(what, &err);
    }
    let heard = heard.lock().unwrap();
    assert!(!heard.is_empty(), "the retries were reported");
    assert!(heard.iter().all(|e| !e.contains(SENTINEL)), "{heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_server_errors_carry_no_secret() {
    let fake = FakeServer::start(|_| {
        http_response(
            "503 Service Unavailable",
            &[("Retry-After", "0")],
            format!("busy, try http://h/s?sig={SENTINEL} later").as_bytes(),
        )
    });
    let heard = Arc::new(Mutex::new(Vec::new()));
    let client = secret_client(fast_retries(), heard.clone());
    let stream = client.stream(&secret_url(&fake.base_url, "s")).unwrap();
    let err = stream.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServerError, "{err}");
    assert_eq!(err.status(), Some(503));
    assert_clean("head", &err);
    assert_eq!(fake.requests().len(), 4, "retried");
    // A read's error body is kept as the message; a URL the server quotes in it is redacted too.
    stream.set_content_type("text/plain");
    let mut session = stream.read(ReadOptions::new());
    let err = within(10, "read", session.next_chunk()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServerError, "{err}");
    assert_clean("read", &err);
    assert_eq!(
        err.message(),
        "busy, try http://h/s?sig=<redacted> later",
        "{err}"
    );
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 6, "{heard:?}");
    assert!(heard.iter().all(|e| !e.contains(SENTINEL)), "{heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_output_of_handles_carries_no_secret() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let client = Client::builder()
        .base_url(format!("http://me:{SENTINEL}@127.0.0.1:1/v1/stream"))
        .header("authorization", SENTINEL)
        .build()
        .unwrap();
    let stream = client.stream(&format!("s?sig={SENTINEL}")).unwrap();
    let session = stream.read(ReadOptions::new());
    let decorated = secret_client(RetryPolicy::none(), heard);
    let texts = [
        format!("{client:?}"),
        format!("{stream:?}"),
        format!("{session:?}"),
        format!("{decorated:?}"),
        stream.redacted_url().into_owned(),
        format!(
            "{:?}",
            Decorations {
                headers: vec![("authorization".into(), SENTINEL.into())],
                query: vec![("token".into(), SENTINEL.into())],
            }
        ),
    ];
    for text in texts {
        assert!(!text.contains(SENTINEL), "{text}");
    }
    // The handle itself still knows the real URL: requests need it.
    assert!(stream.url().contains(SENTINEL));
}
