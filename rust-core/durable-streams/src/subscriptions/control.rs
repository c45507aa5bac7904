//! The subscription handle and its control API: create or re-confirm, read, delete, and
//! explicit stream membership.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::config::SubscriptionConfig;
use super::http::{Answer, Call, answer_error, not_supported, shows_support};
use super::json_fields::{Fields, parse_object};
use super::model::{CreateSubscriptionResult, SubscriptionInfo, parse_subscription};
use super::names::{check_stream_path, check_subscription_id};
use crate::client::Client;
use crate::decorate::Operation;
use crate::error::{Error, Result};
use crate::stream::Stream;

/// A handle to one subscription (`{stream root}/__ds/subscriptions/{id}`). Creating one does
/// no I/O; cloning is cheap; every method takes `&self` and may run concurrently.
///
/// The first call through a handle checks that the server implements subscriptions (one
/// `GET` of the subscription): against a server without them every method fails with
/// [`crate::ErrorKind::SubscriptionsNotSupported`] before anything else is sent (such a server
/// would otherwise create an ordinary stream at the reserved path).
///
/// ```no_run
/// # async fn demo() -> durable_streams_core::Result<()> {
/// use std::time::Duration;
/// use durable_streams_core::{Client, SubscriptionConfig};
/// let client = Client::builder().base_url("http://127.0.0.1:4437/v1/stream").build()?;
/// let orders = client.subscription("orders")?;
/// let config = SubscriptionConfig::pull_wake("wake/orders")
///     .pattern("orders/*")
///     .lease_ttl(Duration::from_secs(30));
/// let created = orders.create(&config).await?.created; // false when an identical one existed
/// for link in orders.get().await?.streams {
///     println!("{} acked up to {}", link.path, link.acked_offset);
/// }
/// # let _ = created;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Subscription {
    pub(crate) shared: Arc<SubscriptionShared>,
}

pub(crate) struct SubscriptionShared {
    pub(crate) client: Client,
    pub(crate) id: String,
    /// The stream root, without a trailing slash.
    root: String,
    pub(crate) url: Url,
    supported: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.shared.id)
            .field("url", &crate::redact::url(self.shared.url.as_str()))
            .finish()
    }
}

impl Client {
    /// A handle to the subscription `id` under the client's base URL, which must be the stream
    /// root (for example `http://127.0.0.1:4437/v1/stream`). No I/O happens here.
    ///
    /// Fails with [`crate::ErrorKind::InvalidArgument`] when the id is not 1 to 200 of
    /// `A-Z a-z 0-9 - _ . ~`, or when the client has no base URL (see
    /// [`Client::subscription_at`]).
    pub fn subscription(&self, id: &str) -> Result<Subscription> {
        let Some(root) = self.inner.base_url.clone() else {
            return Err(Error::invalid_argument(
                "base_url",
                "subscriptions live under the stream root: build the client with a base URL, \
                 or use subscription_at(stream_root, id)",
            ));
        };
        self.subscription_at(&root, id)
    }

    /// A handle to the subscription `id` under the stream root `stream_root` (an absolute URL,
    /// or a path relative to the base URL).
    pub fn subscription_at(&self, stream_root: &str, id: &str) -> Result<Subscription> {
        check_subscription_id("id", id)?;
        let root = self
            .stream(stream_root)
            .map_err(|e| Error::invalid_argument("stream_root", e.message()))?;
        let root = root.url().trim_end_matches('/').to_owned();
        let url = Url::parse(&format!("{root}/__ds/subscriptions/{id}"))
            .map_err(|e| Error::invalid_argument("stream_root", e))?;
        Ok(Subscription {
            shared: Arc::new(SubscriptionShared {
                client: self.clone(),
                id: id.to_owned(),
                root,
                url,
                supported: tokio::sync::OnceCell::new(),
            }),
        })
    }
}

impl Subscription {
    /// The subscription id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The subscription's control URL.
    pub fn url(&self) -> &str {
        self.shared.url.as_str()
    }

    /// The client this handle belongs to.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// A handle to a stream-root-relative stream path (a linked stream, the wake stream).
    pub fn stream(&self, path: &str) -> Result<Stream> {
        self.shared
            .client
            .stream(&format!("{}/{path}", self.shared.root))
    }

    /// The URL of an action below the subscription (`claim`, `streams`, ...).
    pub(crate) fn action_url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.shared.url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::invalid_argument("stream_root", "cannot hold a path"))?
            .extend(segments);
        Ok(url)
    }

    /// Checks once per handle that the server implements subscriptions.
    pub(crate) async fn ensure_supported(&self) -> Result<()> {
        self.shared
            .supported
            .get_or_try_init(|| async {
                let answer = self
                    .send(
                        Operation::SubscriptionControl,
                        Method::GET,
                        &self.shared.url,
                        None,
                        true,
                    )
                    .await?;
                match shows_support(&answer) {
                    Some(true) => Ok(()),
                    Some(false) => Err(not_supported(&self.shared.url)),
                    None => Err(answer_error(
                        &answer,
                        &self.shared.url,
                        Operation::SubscriptionControl,
                    )),
                }
            })
            .await
            .map(|_| ())
    }

    pub(crate) async fn send(
        &self,
        operation: Operation,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Answer> {
        self.send_with_token(operation, method, url, body, None, idempotent)
            .await
    }

    pub(crate) async fn send_with_token(
        &self,
        operation: Operation,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        bearer: Option<&str>,
        idempotent: bool,
    ) -> Result<Answer> {
        self.shared
            .client
            .subscription_call(&Call {
                operation,
                method,
                url,
                body,
                bearer,
                idempotent,
            })
            .await
    }

    /// Creates the subscription (`PUT`), or re-confirms an identical one.
    ///
    /// [`CreateSubscriptionResult::created`] is `true` for 201 and `false` for 200 (it existed
    /// with the same configuration); a different configuration fails with
    /// [`crate::ErrorKind::SubscriptionConflict`]. Every field is checked first
    /// ([`crate::ErrorKind::InvalidArgument`] naming it).
    pub async fn create(&self, config: &SubscriptionConfig) -> Result<CreateSubscriptionResult> {
        let body = config.to_body().map_err(|e| e.with_url(self.url()))?;
        self.ensure_supported().await?;
        let answer = self
            .send(
                Operation::SubscriptionControl,
                Method::PUT,
                &self.shared.url,
                Some(&body),
                true,
            )
            .await?;
        let created = match answer.status {
            StatusCode::CREATED => true,
            StatusCode::OK => false,
            _ => {
                return Err(answer_error(
                    &answer,
                    &self.shared.url,
                    Operation::SubscriptionControl,
                ));
            }
        };
        Ok(CreateSubscriptionResult {
            created,
            subscription: self.parse_info(&answer)?,
        })
    }

    /// Reads the subscription: its configuration, linked streams with their cursors, and
    /// status. [`crate::ErrorKind::NotFound`] when it does not exist.
    pub async fn get(&self) -> Result<SubscriptionInfo> {
        self.ensure_supported().await?;
        let answer = self
            .send(
                Operation::SubscriptionControl,
                Method::GET,
                &self.shared.url,
                None,
                true,
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer_error(
                &answer,
                &self.shared.url,
                Operation::SubscriptionControl,
            ));
        }
        self.parse_info(&answer)
    }

    fn parse_info(&self, answer: &Answer) -> Result<SubscriptionInfo> {
        let value =
            parse_object(&answer.body, "the subscription").map_err(|e| e.with_url(self.url()))?;
        let fields = Fields::of(&value, "the subscription")?;
        parse_subscription(&fields).map_err(|e| e.with_url(self.url()))
    }

    /// Deletes the subscription (`204`). Requests of its wakes in flight fail afterwards and
    /// advance no cursor.
    pub async fn delete(&self) -> Result<()> {
        self.ensure_supported().await?;
        let answer = self
            .send(
                Operation::SubscriptionControl,
                Method::DELETE,
                &self.shared.url,
                None,
                true,
            )
            .await?;
        self.expect_no_content(&answer, &self.shared.url)
    }

    /// Links streams explicitly (at their current tail); linking a linked stream again is
    /// harmless.
    pub async fn add_streams<S: AsRef<str>>(&self, paths: &[S]) -> Result<()> {
        if paths.is_empty() {
            return Err(
                Error::invalid_argument("streams", "at least one stream path is required")
                    .with_url(self.url()),
            );
        }
        let mut list = Vec::with_capacity(paths.len());
        for (index, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            check_stream_path(&format!("streams[{index}]"), path)
                .map_err(|e| e.with_url(self.url()))?;
            list.push(Value::from(path));
        }
        self.ensure_supported().await?;
        let url = self.action_url(&["streams"])?;
        let body = serde_json::json!({ "streams": list });
        let answer = self
            .send(
                Operation::SubscriptionControl,
                Method::POST,
                &url,
                Some(&body),
                true,
            )
            .await?;
        self.expect_no_content(&answer, &url)
    }

    /// Removes the explicit link of `path`; a link by the pattern stays. Removing an absent
    /// link is harmless.
    pub async fn remove_stream(&self, path: &str) -> Result<()> {
        check_stream_path("path", path).map_err(|e| e.with_url(self.url()))?;
        self.ensure_supported().await?;
        // One segment: the path's slashes are percent-encoded, as the protocol asks.
        let url = self.action_url(&["streams", path])?;
        let answer = self
            .send(
                Operation::SubscriptionControl,
                Method::DELETE,
                &url,
                None,
                true,
            )
            .await?;
        self.expect_no_content(&answer, &url)
    }

    pub(crate) fn expect_no_content(&self, answer: &Answer, url: &Url) -> Result<()> {
        if answer.status.is_success() && shows_support(answer) != Some(false) {
            Ok(())
        } else {
            Err(answer_error(answer, url, Operation::SubscriptionControl))
        }
    }
}
