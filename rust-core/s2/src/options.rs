//! Client options (JSON-ready) and their translation into the SDK's configuration.

use std::num::NonZeroU32;
use std::time::Duration;

use s2_sdk::types as sdk;
use serde::Deserialize;

use crate::error::S2Error;

/// How a client reaches S2 and how it retries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOptions {
    /// The access token (any non-empty value for `s2 lite`).
    pub access_token: String,
    /// One endpoint for both the account and the basin APIs, e.g. `http://127.0.0.1:4566` for
    /// a local server. Mutually exclusive with the two below; S2 cloud when all are absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The account API endpoint (`https://a.s2.dev` on the cloud).
    #[serde(default)]
    pub account_endpoint: Option<String>,
    /// The basin API endpoint; `{basin}.` in front of the host routes per basin
    /// (`https://{basin}.b.s2.dev` on the cloud).
    #[serde(default)]
    pub basin_endpoint: Option<String>,
    /// Time allowed to connect, in milliseconds (SDK default 3000).
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Time allowed per request, in milliseconds (SDK default 5000).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: Option<RetryOptions>,
    /// `none` (default), `gzip` or `zstd`, for request and response bodies.
    #[serde(default)]
    pub compression: Option<String>,
}

/// Retries of transient failures: exponential backoff with jitter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryOptions {
    /// Attempts including the first (1: no retries; SDK default 3).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The first retry's base delay in milliseconds (SDK default 100).
    #[serde(default)]
    pub min_base_delay_ms: Option<u64>,
    /// The cap of the base delay in milliseconds (SDK default 1000).
    #[serde(default)]
    pub max_base_delay_ms: Option<u64>,
    /// `all` (SDK default: appends are retried even if that may store them twice; combine with
    /// `match_seq_num` for exactly-once) or `no_side_effects` (only appends the server cannot
    /// have seen).
    #[serde(default)]
    pub append_retry_policy: Option<String>,
}

fn endpoint_error(parameter: &str, value: &str, problem: impl std::fmt::Display) -> S2Error {
    S2Error::argument(
        parameter,
        format!(
            "{value:?} is not an endpoint URL ({problem}); expected e.g. http://127.0.0.1:4566"
        ),
    )
}

/// Endpoints must be `http(s)://host[:port]`: anything after the authority (a path, a query)
/// would be silently dropped by the SDK, so it is refused here.
fn check_endpoint(parameter: &str, value: &str) -> Result<(), S2Error> {
    let rest = match value.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => rest,
        Some((scheme, _)) => {
            return Err(endpoint_error(
                parameter,
                value,
                format!("scheme {scheme:?} is not http or https"),
            ));
        }
        None => value,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(endpoint_error(parameter, value, "no host"));
    }
    if rest.contains(['/', '?', '#', ' ']) {
        return Err(endpoint_error(
            parameter,
            value,
            "only a scheme, host and port are allowed",
        ));
    }
    Ok(())
}

fn trimmed(value: &str) -> &str {
    value.strip_suffix('/').unwrap_or(value)
}

impl ClientOptions {
    /// Options for one endpoint (a local server) with `access_token`.
    pub fn for_endpoint(endpoint: &str, access_token: &str) -> ClientOptions {
        ClientOptions {
            access_token: access_token.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            ..ClientOptions::default()
        }
    }

    /// The SDK configuration, every option checked and named when wrong.
    pub fn to_config(&self) -> Result<sdk::S2Config, S2Error> {
        if self.access_token.trim().is_empty() {
            return Err(S2Error::argument("access_token", "must not be empty"));
        }
        let endpoints = match (&self.endpoint, &self.account_endpoint, &self.basin_endpoint) {
            (None, None, None) => None,
            (Some(endpoint), None, None) => {
                check_endpoint("endpoint", endpoint)?;
                Some(
                    sdk::S2Endpoints::for_endpoint(trimmed(endpoint))
                        .map_err(|e| endpoint_error("endpoint", endpoint, e))?,
                )
            }
            (None, Some(account), Some(basin)) => {
                check_endpoint("account_endpoint", account)?;
                check_endpoint("basin_endpoint", basin)?;
                let account = sdk::AccountEndpoint::new(trimmed(account))
                    .map_err(|e| endpoint_error("account_endpoint", account, e))?;
                let basin_endpoint = sdk::BasinEndpoint::new(trimmed(basin))
                    .map_err(|e| endpoint_error("basin_endpoint", basin, e))?;
                Some(
                    sdk::S2Endpoints::new(account, basin_endpoint)
                        .map_err(|e| endpoint_error("basin_endpoint", basin, e))?,
                )
            }
            (Some(_), _, _) => {
                return Err(S2Error::argument(
                    "endpoint",
                    "give either endpoint or account_endpoint and basin_endpoint, not both",
                ));
            }
            (None, _, _) => {
                return Err(S2Error::argument(
                    "account_endpoint",
                    "account_endpoint and basin_endpoint must be given together",
                ));
            }
        };
        let mut config =
            sdk::S2Config::new(self.access_token.clone()).with_rustls_ring_crypto_provider();
        if let Some(endpoints) = endpoints {
            config = config.with_endpoints(endpoints);
        }
        if let Some(ms) = self.connect_timeout_ms {
            config = config.with_connection_timeout(positive_ms("connect_timeout_ms", ms)?);
        }
        if let Some(ms) = self.request_timeout_ms {
            config = config.with_request_timeout(positive_ms("request_timeout_ms", ms)?);
        }
        if let Some(retry) = &self.retry {
            config = config.with_retry(retry.to_sdk()?);
        }
        if let Some(name) = &self.compression {
            config = config.with_compression(match name.as_str() {
                "none" => sdk::Compression::None,
                "gzip" => sdk::Compression::Gzip,
                "zstd" => sdk::Compression::Zstd,
                other => {
                    return Err(S2Error::argument(
                        "compression",
                        format!("unknown compression {other:?} (expected none, gzip or zstd)"),
                    ));
                }
            });
        }
        Ok(config)
    }
}

fn positive_ms(parameter: &str, ms: u64) -> Result<Duration, S2Error> {
    if ms == 0 {
        return Err(S2Error::argument(parameter, "must be at least 1 ms"));
    }
    Ok(Duration::from_millis(ms))
}

impl RetryOptions {
    fn to_sdk(&self) -> Result<sdk::RetryConfig, S2Error> {
        let mut retry = sdk::RetryConfig::new();
        if let Some(attempts) = self.max_attempts {
            let attempts = NonZeroU32::new(attempts)
                .ok_or_else(|| S2Error::argument("retry.max_attempts", "must be at least 1"))?;
            retry = retry.with_max_attempts(attempts);
        }
        if let Some(ms) = self.min_base_delay_ms {
            retry = retry.with_min_base_delay(Duration::from_millis(ms));
        }
        if let Some(ms) = self.max_base_delay_ms {
            retry = retry.with_max_base_delay(Duration::from_millis(ms));
        }
        if let (Some(min), Some(max)) = (self.min_base_delay_ms, self.max_base_delay_ms) {
            if min > max {
                return Err(S2Error::argument(
                    "retry.min_base_delay_ms",
                    format!("{min} is greater than retry.max_base_delay_ms {max}"),
                ));
            }
        }
        if let Some(policy) = &self.append_retry_policy {
            retry = retry.with_append_retry_policy(match policy.as_str() {
                "all" => sdk::AppendRetryPolicy::All,
                "no_side_effects" => sdk::AppendRetryPolicy::NoSideEffects,
                other => {
                    return Err(S2Error::argument(
                        "retry.append_retry_policy",
                        format!("unknown policy {other:?} (expected all or no_side_effects)"),
                    ));
                }
            });
        }
        Ok(retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(options: ClientOptions) -> String {
        options
            .to_config()
            .expect_err("invalid options")
            .to_string()
    }

    #[test]
    fn a_local_endpoint_is_accepted() {
        let options = ClientOptions::for_endpoint("http://127.0.0.1:4566/", "token");
        assert!(options.to_config().is_ok());
        assert!(
            ClientOptions {
                access_token: "t".into(),
                account_endpoint: Some("https://a.example.com".into()),
                basin_endpoint: Some("https://{basin}.b.example.com".into()),
                ..ClientOptions::default()
            }
            .to_config()
            .is_ok()
        );
    }

    #[test]
    fn wrong_endpoints_are_refused_naming_the_option() {
        for (endpoint, problem) in [
            ("ftp://host", "scheme"),
            ("http://127.0.0.1:4566/v1", "only a scheme, host and port"),
            ("http://", "no host"),
            ("http://bad host", "only a scheme"),
        ] {
            let message = error_of(ClientOptions::for_endpoint(endpoint, "t"));
            assert!(
                message.contains("invalid endpoint") && message.contains(problem),
                "{endpoint}: {message}"
            );
        }
        let message = error_of(ClientOptions {
            access_token: "t".into(),
            account_endpoint: Some("http://127.0.0.1:1".into()),
            ..ClientOptions::default()
        });
        assert!(message.contains("together"), "{message}");
    }

    #[test]
    fn empty_tokens_and_bad_retry_settings_are_refused() {
        assert!(
            error_of(ClientOptions::for_endpoint("http://127.0.0.1:1", " "))
                .contains("access_token")
        );
        let mut options = ClientOptions::for_endpoint("http://127.0.0.1:1", "t");
        options.retry = Some(RetryOptions {
            max_attempts: Some(0),
            ..RetryOptions::default()
        });
        assert!(error_of(options.clone()).contains("retry.max_attempts"));
        options.retry = Some(RetryOptions {
            append_retry_policy: Some("sometimes".into()),
            ..RetryOptions::default()
        });
        assert!(error_of(options).contains("retry.append_retry_policy"));
    }
}
