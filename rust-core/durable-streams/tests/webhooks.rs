//! Webhook subscriptions (PROTOCOL §6.5, §7.1) against the Node reference server started with
//! `webhooks: true`: its real signed deliveries reach a receiver this test runs on 127.0.0.1
//! and are verified with the server's JWKS; tampered, re-signed, replayed, stale and
//! unknown-key deliveries are rejected; a deferred wake is answered with its callback token.

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{FakeServer, client_builder, http_response, unique_name, within};
use durable_streams_core::{
    Ack, Client, CreateOptions, Decorations, ErrorKind, Offset, SubscriptionConfig,
    WebhookCallback, WebhookVerifier, decorator_fn,
};
use durable_streams_test_harness::{ServerKind, ServerOptions, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

fn webhook_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    tokio::task::block_in_place(|| {
        SERVER.get_or_init(|| {
            let options = ServerOptions {
                webhooks: true,
                ..ServerOptions::default()
            };
            TestServer::start_with(ServerKind::Node, &options)
                .unwrap_or_else(|e| panic!("cannot start the Node server with webhooks: {e}"))
        })
    })
}

/// A client of the webhook server that counts its JWKS fetches.
fn client(jwks_fetches: Arc<AtomicUsize>) -> Client {
    client_builder()
        .base_url(webhook_server().stream_prefix_url())
        .decorator(decorator_fn(move |info| {
            if info.url.ends_with("/__ds/jwks.json") {
                jwks_fetches.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Decorations::default())
        }))
        .build()
        .expect("client builds")
}

/// One webhook request as the receiver saw it, with the way to answer it.
struct Delivery {
    path: String,
    signature: String,
    body: Vec<u8>,
    reply: oneshot::Sender<(u16, String)>,
}

/// A tiny HTTP/1.1 receiver on 127.0.0.1: every request is handed to the test, which answers.
struct Receiver {
    url: String,
    deliveries: mpsc::Receiver<Delivery>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, deliveries) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_connection(socket, tx.clone()));
            }
        });
        Receiver { url, deliveries }
    }

    async fn next(&mut self) -> Delivery {
        within(20, "a webhook delivery", self.deliveries.recv())
            .await
            .expect("the receiver is running")
    }
}

async fn serve_connection(socket: tokio::net::TcpStream, tx: mpsc::Sender<Delivery>) {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut signature = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "webhook-signature" => signature = value.trim().to_owned(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let (reply, answer) = oneshot::channel();
        let delivery = Delivery {
            path,
            signature,
            body,
            reply,
        };
        if tx.send(delivery).await.is_err() {
            return;
        }
        let (status, text) = answer.await.unwrap_or((500, String::new()));
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A webhook subscription over one fresh JSON stream, delivering to `receiver/hook/<id>`.
/// Returns the subscription id, the stream path and the JWKS URL of its signing metadata.
async fn webhook_subscription(client: &Client, receiver: &Receiver) -> (String, String, String) {
    let path = unique_name("events");
    client
        .stream(&path)
        .unwrap()
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap();
    let id = unique_name("hook");
    let subscription = client.subscription(&id).unwrap();
    let config =
        SubscriptionConfig::webhook(format!("{}/hook/{id}", receiver.url)).stream(path.clone());
    assert!(subscription.create(&config).await.unwrap().created);
    let info = subscription.get().await.unwrap();
    let signing = info
        .webhook
        .expect("a webhook subscription has webhook metadata")
        .signing
        .expect("the Node server publishes signing metadata");
    assert_eq!(signing.alg, "ed25519");
    (id, path, signing.jwks_url)
}

async fn append(client: &Client, path: &str, n: u64) -> Offset {
    client
        .stream(path)
        .unwrap()
        .append_json(&serde_json::json!({ "n": n }))
        .await
        .unwrap()
        .next_offset
}

async fn acked_offset(client: &Client, id: &str, path: &str) -> Offset {
    let info = client.subscription(id).unwrap().get().await.unwrap();
    info.streams
        .into_iter()
        .find(|link| link.path == path)
        .expect("the stream is linked")
        .acked_offset
}

async fn wait_for_ack(client: &Client, id: &str, path: &str, expected: &Offset) {
    within(10, "the cursor to advance", async {
        while &acked_offset(client, id, path).await != expected {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `header` with its `ed25519` parameter replaced by a signature of `<t>.<body>` made with a
/// key of our own, and its `kid` replaced by `kid` when given.
fn resigned(header: &str, body: &[u8], kid: Option<&str>) -> String {
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[42; 32]).unwrap();
    let mut parts = Vec::new();
    let mut t = "";
    for part in header.split(',') {
        if let Some(value) = part.strip_prefix("t=") {
            t = value;
        }
    }
    let mut message = t.as_bytes().to_vec();
    message.push(b'.');
    message.extend_from_slice(body);
    let signature = URL_SAFE_NO_PAD.encode(pair.sign(&message).as_ref());
    for part in header.split(',') {
        if part.starts_with("ed25519=") {
            parts.push(format!("ed25519={signature}"));
        } else if let (true, Some(kid)) = (part.starts_with("kid="), kid) {
            parts.push(format!("kid={kid}"));
        } else {
            parts.push(part.to_owned());
        }
    }
    parts.join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_delivery_verifies_end_to_end_and_done_acks_the_wake() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let client = client(fetches.clone());
    let mut receiver = Receiver::start().await;
    let (id, path, jwks_url) = webhook_subscription(&client, &receiver).await;
    assert_eq!(
        jwks_url,
        format!("{}/v1/stream/__ds/jwks.json", webhook_server().base_url())
    );
    // The default JWKS URL, derived from the stream root, is the one the server announces.
    let verifier = WebhookVerifier::builder(&client)
        .subscription(&id)
        .build()
        .unwrap();
    assert_eq!(verifier.jwks_url(), jwks_url);

    let before = acked_offset(&client, &id, &path).await;
    let tail = append(&client, &path, 1).await;
    let delivery = receiver.next().await;
    assert_eq!(delivery.path, format!("/hook/{id}"));
    let wake = verifier
        .verify(&delivery.signature, &delivery.body)
        .await
        .unwrap_or_else(|e| panic!("the server's real signature is rejected: {e}"));
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the keys were fetched once"
    );
    assert_eq!(wake.subscription_id, id);
    assert!(wake.generation() >= 1);
    assert!(wake.key_id.starts_with("ds_"), "{}", wake.key_id);
    assert_eq!(verifier.key_ids(), vec![wake.key_id.clone()]);
    assert!(now_secs().abs_diff(wake.signed_at) <= 5);
    let stream = &wake.streams[0];
    assert_eq!(stream.path, path);
    assert!(stream.has_pending);
    assert_eq!(stream.acked_offset, before);
    assert_eq!(stream.tail_offset, tail);
    assert!(
        wake.callback
            .url
            .as_str()
            .ends_with(&format!("/v1/stream/__ds/subscriptions/{id}/callback"))
    );
    delivery
        .reply
        .send((200, r#"{"done":true}"#.to_owned()))
        .unwrap();
    wait_for_ack(&client, &id, &path, &tail).await;

    // The next append is a new wake, verified with the cached key (no new fetch).
    let tail2 = append(&client, &path, 2).await;
    let delivery = receiver.next().await;
    let second = verifier
        .verify(&delivery.signature, &delivery.body)
        .await
        .unwrap();
    assert!(second.generation() > wake.generation());
    assert_ne!(second.wake_id(), wake.wake_id());
    assert_eq!(second.streams[0].tail_offset, tail2);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    delivery
        .reply
        .send((200, r#"{"done":true}"#.to_owned()))
        .unwrap();
    wait_for_ack(&client, &id, &path, &tail2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_stale_and_unknown_key_deliveries_are_rejected() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let client = client(fetches.clone());
    let mut receiver = Receiver::start().await;
    let (id, path, jwks_url) = webhook_subscription(&client, &receiver).await;
    let shift = Arc::new(AtomicU64::new(0));
    let clock_shift = shift.clone();
    let verifier = WebhookVerifier::builder(&client)
        .jwks_url(&jwks_url)
        .refresh_interval(Duration::from_secs(60))
        .clock(Arc::new(move || {
            SystemTime::now() + Duration::from_secs(clock_shift.load(Ordering::SeqCst))
        }))
        .build()
        .unwrap();
    append(&client, &path, 1).await;
    let delivery = receiver.next().await;
    let (header, body) = (delivery.signature.clone(), delivery.body.clone());

    // A tampered body (one byte of the stream path changed) fails the signature.
    let mut tampered = body.clone();
    let at = tampered
        .windows(path.len())
        .position(|w| w == path.as_bytes())
        .unwrap();
    tampered[at] ^= 0x01;
    let err = verifier.verify(&header, &tampered).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("does not match the body"), "{err}");
    // A body signed by another key under the server's kid fails too.
    let forged = resigned(&header, &body, None);
    let err = verifier.verify(&forged, &body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    // A changed timestamp invalidates the signature.
    let t = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let moved = header.replace(&format!("t={t}"), &format!("t={}", t - 1));
    let err = verifier.verify(&moved, &body).await.unwrap_err();
    assert!(err.message().contains("does not match"), "{err}");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // An unknown kid refetches the keys once; a flood of unknown kids does not refetch.
    let unknown = resigned(&header, &body, Some("ds_not_a_server_key"));
    let err = verifier.verify(&unknown, &body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.message().contains("is not in the server's JWKS"),
        "{err}"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    for n in 0..50 {
        let unknown = resigned(&header, &body, Some(&format!("ds_flood_{n}")));
        assert!(verifier.verify(&unknown, &body).await.is_err());
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "unknown kids are rate limited"
    );

    // Concurrent deliveries naming unknown kids share the rate limit too.
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let verifier = verifier.clone();
            let header = resigned(&header, &body, Some(&format!("ds_parallel_{n}")));
            let body = body.clone();
            tokio::spawn(async move { verifier.verify(&header, &body).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // The genuine delivery is accepted once; the same request again is a replay.
    let wake = verifier.verify(&header, &body).await.unwrap();
    assert_eq!(wake.subscription_id, id);
    let err = verifier.verify(&header, &body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("a replay"), "{err}");
    // Replayed six minutes later (to a receiver that has forgotten it), it is stale.
    let fresh = WebhookVerifier::builder(&client)
        .jwks_url(&jwks_url)
        .clock(Arc::new(|| SystemTime::now() + Duration::from_secs(360)))
        .build()
        .unwrap();
    let err = fresh.verify(&header, &body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("outside the 300 s window"), "{err}");
    shift.store(400, Ordering::SeqCst);
    let err = verifier.verify(&header, &body).await.unwrap_err();
    assert!(err.message().contains("old, outside"), "{err}");

    // A receiver for other subscriptions refuses this one.
    let other = WebhookVerifier::builder(&client)
        .jwks_url(&jwks_url)
        .subscription("someone-else")
        .build()
        .unwrap();
    let err = other.verify(&header, &body).await.unwrap_err();
    assert!(
        err.message().contains("not one this receiver accepts"),
        "{err}"
    );

    delivery
        .reply
        .send((200, r#"{"done":true}"#.to_owned()))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_wake_is_answered_with_its_callback_token() {
    let client = client(Arc::new(AtomicUsize::new(0)));
    let mut receiver = Receiver::start().await;
    let (id, path, _) = webhook_subscription(&client, &receiver).await;
    let verifier = WebhookVerifier::builder(&client).build().unwrap();
    let before = acked_offset(&client, &id, &path).await;
    let tail = append(&client, &path, 1).await;
    let delivery = receiver.next().await;
    let wake = verifier
        .verify(&delivery.signature, &delivery.body)
        .await
        .unwrap();
    // Accept the delivery without finishing it.
    delivery.reply.send((200, "{}".to_owned())).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(acked_offset(&client, &id, &path).await, before);

    // A lease extension without acks, then a callback rebuilt from saved parts.
    let outcome = client
        .webhook_callback(&wake.callback, &[], false)
        .await
        .unwrap();
    assert!(!outcome.next_wake);
    let saved = WebhookCallback::new(
        wake.callback.url.as_str(),
        wake.wake_id(),
        wake.generation(),
        &wake.callback.token,
    )
    .unwrap();
    assert!(!format!("{saved:?}").contains(&wake.callback.token));
    let acks = wake.tail_acks();
    assert_eq!(acks, vec![Ack::new(path.clone(), tail.clone())]);
    client.webhook_callback(&saved, &acks, true).await.unwrap();
    assert_eq!(acked_offset(&client, &id, &path).await, tail);

    // The wake is over: its token no longer works and nothing moves.
    let err = client
        .webhook_callback(&saved, &acks, true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Fenced, "{err}");
    // A wrong token is refused.
    let tail2 = append(&client, &path, 2).await;
    let delivery = receiver.next().await;
    let next = verifier
        .verify(&delivery.signature, &delivery.body)
        .await
        .unwrap();
    let mut wrong = next.callback.clone();
    wrong.token.push('x');
    let err = client
        .webhook_callback(&wrong, &next.tail_acks(), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(acked_offset(&client, &id, &path).await, tail);
    // A sentinel offset is refused before anything is sent.
    let err = client
        .webhook_callback(&next.callback, &[Ack::new(path.clone(), Offset::NOW)], true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("acks[0].offset"), "{err}");
    delivery
        .reply
        .send((200, r#"{"done":true}"#.to_owned()))
        .unwrap();
    wait_for_ack(&client, &id, &path, &tail2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_deliveries_fetch_the_keys_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let client = client(fetches.clone());
    let mut receiver = Receiver::start().await;
    let (_, path, _) = webhook_subscription(&client, &receiver).await;
    append(&client, &path, 1).await;
    let delivery = receiver.next().await;
    let verifier = WebhookVerifier::builder(&client).build().unwrap();
    // Ten receivers race with the same genuine delivery and an empty key cache: one fetch, one
    // acceptance, nine replays.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let verifier = verifier.clone();
            let header = delivery.signature.clone();
            let body = delivery.body.clone();
            tokio::spawn(async move { verifier.verify(&header, &body).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(err) => assert!(err.message().contains("a replay"), "{err}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    delivery
        .reply
        .send((200, r#"{"done":true}"#.to_owned()))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_jwks_fails_the_fetch_clearly() {
    let client = client_builder()
        .base_url(common::server(ServerKind::Electric).stream_prefix_url())
        .build()
        .unwrap();
    let verifier = WebhookVerifier::builder(&client).build().unwrap();
    let header = format!(
        "t={},kid=ds_x,ed25519={}",
        now_secs(),
        URL_SAFE_NO_PAD.encode([0u8; 64])
    );
    let err = verifier.verify(&header, b"{}").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SubscriptionsNotSupported, "{err}");
    assert!(err.to_string().contains("/__ds/jwks.json"), "{err}");
    // A second delivery right away does not ask the server again.
    let err = verifier.verify(&header, b"{}").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("keys are unavailable"), "{err}");
}

/// A JWK Set with the Ed25519 keys of `seeds` (kid `k<seed>`).
fn jwks_of(seeds: &[u8]) -> String {
    use ring::signature::KeyPair as _;
    let keys: Vec<_> = seeds
        .iter()
        .map(|seed| {
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[*seed; 32]).unwrap();
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": format!("k{seed}"),
                               "use": "sig", "alg": "EdDSA",
                               "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())})
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

fn signed_by(seed: u8, body: &[u8]) -> String {
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
    let t = now_secs();
    let mut message = t.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    format!(
        "t={t},kid=k{seed},ed25519={}",
        URL_SAFE_NO_PAD.encode(pair.sign(&message).as_ref())
    )
}

/// Key rotation, which the reference server does not do on demand: a scripted JWKS endpoint
/// publishes a second key; the first delivery signed with it refetches the keys and is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_on_its_first_delivery() {
    let rotated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let serving = rotated.clone();
    let jwks = FakeServer::start(move |_| {
        let seeds: &[u8] = if serving.load(Ordering::SeqCst) {
            &[1, 2]
        } else {
            &[1]
        };
        http_response(
            "200 OK",
            &[("content-type", "application/jwk-set+json")],
            jwks_of(seeds).as_bytes(),
        )
    });
    let client = client_builder().build().unwrap();
    let verifier = WebhookVerifier::builder(&client)
        .jwks_url(&jwks.url("/v1/stream/__ds/jwks.json"))
        .build()
        .unwrap();
    let body = serde_json::json!({
        "subscription_id": "s", "wake_id": "w1", "generation": 1, "streams": [],
        "callback_url": "http://127.0.0.1:1/v1/stream/__ds/subscriptions/s/callback",
        "callback_token": "tok"
    })
    .to_string()
    .into_bytes();
    verifier.verify(&signed_by(1, &body), &body).await.unwrap();
    assert_eq!(verifier.key_ids(), vec!["k1".to_owned()]);
    rotated.store(true, Ordering::SeqCst);
    let wake = verifier.verify(&signed_by(2, &body), &body).await.unwrap();
    assert_eq!(wake.key_id, "k2");
    assert_eq!(verifier.key_ids(), vec!["k1".to_owned(), "k2".to_owned()]);
    assert_eq!(jwks.requests().len(), 2, "one fetch, one refetch");
    // A kid still unknown after the refetch stays rejected without asking again.
    let err = verifier
        .verify(&signed_by(3, &body), &body)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(jwks.requests().len(), 2);
}

/// A JWKS endpoint answering garbage: the error names the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_jwks_is_a_parse_error_naming_the_field() {
    let jwks = FakeServer::start(|_| {
        http_response(
            "200 OK",
            &[("content-type", "application/json")],
            br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"c2hvcnQ"}]}"#,
        )
    });
    let client = client_builder().build().unwrap();
    let verifier = WebhookVerifier::builder(&client)
        .jwks_url(&jwks.url("/__ds/jwks.json"))
        .build()
        .unwrap();
    let err = verifier.refresh_keys().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert!(
        err.message().contains("`keys[0].x` is 5 bytes, not 32"),
        "{err}"
    );
}
