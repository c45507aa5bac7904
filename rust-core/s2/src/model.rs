//! The control-plane models: basin and stream configuration, resource information, list
//! pages and access tokens. They serialize to JSON with the field names of S2's REST API, so
//! the C ABI and the bindings exchange them as JSON documents a user can read in S2's docs.

use s2_common::maybe::Maybe;
use s2_sdk::types as sdk;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Context, S2Error};

/// A position in a stream: the sequence number of a record (or of the next one, for a tail)
/// and its timestamp in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The sequence number.
    pub seq_num: u64,
    /// The timestamp, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

impl From<sdk::StreamPosition> for Position {
    fn from(position: sdk::StreamPosition) -> Position {
        Position {
            seq_num: position.seq_num,
            timestamp: position.timestamp,
        }
    }
}

/// How long a stream keeps its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RetentionPolicy {
    /// Records older than this many seconds are trimmed.
    Age(u64),
    /// Records are kept until trimmed explicitly.
    Infinite(Infinite),
}

/// The (empty) body of [`RetentionPolicy::Infinite`], `{}` in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Infinite {}

/// How record timestamps are assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampingMode {
    /// Use the client's timestamp when given, else the arrival time.
    ClientPrefer,
    /// Every record must carry a client timestamp.
    ClientRequire,
    /// Always the arrival time.
    Arrival,
}

/// Timestamping settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timestamping {
    /// The mode (server default: `client-prefer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<TimestampingMode>,
    /// Whether client timestamps may be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncapped: Option<bool>,
}

/// Deleting a stream automatically once it is empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteOnEmpty {
    /// The minimum age, in seconds, an empty stream reaches before it is deleted.
    #[serde(default)]
    pub min_age_secs: u64,
}

/// Configuration of a stream (unset fields take the basin's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// `standard` or `express`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RetentionPolicy>,
    /// Timestamping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamping: Option<Timestamping>,
    /// Deletion once empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_on_empty: Option<DeleteOnEmpty>,
}

/// Configuration of a basin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasinConfig {
    /// Defaults for the basin's streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_stream_config: Option<StreamConfig>,
    /// Encryption of new streams' records: `aegis-256` or `aes-256-gcm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_cipher: Option<String>,
    /// Whether appending to a missing stream creates it.
    #[serde(default)]
    pub create_stream_on_append: bool,
    /// Whether reading a missing stream creates it.
    #[serde(default)]
    pub create_stream_on_read: bool,
}

/// `Some(None)` for an explicit JSON `null`, `Some(Some(v))` for a value, `None` when absent
/// (with `#[serde(default)]`): the three states of a reconfiguration field.
fn explicit<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes to a stream's configuration: an absent field stays as it is, `null` resets it to
/// the default, a value sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamReconfiguration {
    /// See [`StreamConfig::storage_class`].
    #[serde(default, deserialize_with = "explicit")]
    pub storage_class: Option<Option<String>>,
    /// See [`StreamConfig::retention_policy`].
    #[serde(default, deserialize_with = "explicit")]
    pub retention_policy: Option<Option<RetentionPolicy>>,
    /// See [`StreamConfig::timestamping`].
    #[serde(default, deserialize_with = "explicit")]
    pub timestamping: Option<Option<Timestamping>>,
    /// See [`StreamConfig::delete_on_empty`].
    #[serde(default, deserialize_with = "explicit")]
    pub delete_on_empty: Option<Option<DeleteOnEmpty>>,
}

/// Changes to a basin's configuration, with the same three states as
/// [`StreamReconfiguration`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasinReconfiguration {
    /// See [`BasinConfig::default_stream_config`].
    #[serde(default, deserialize_with = "explicit")]
    pub default_stream_config: Option<Option<StreamReconfiguration>>,
    /// See [`BasinConfig::stream_cipher`].
    #[serde(default, deserialize_with = "explicit")]
    pub stream_cipher: Option<Option<String>>,
    /// See [`BasinConfig::create_stream_on_append`].
    #[serde(default)]
    pub create_stream_on_append: Option<bool>,
    /// See [`BasinConfig::create_stream_on_read`].
    #[serde(default)]
    pub create_stream_on_read: Option<bool>,
}

/// A basin as the account lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BasinInfo {
    /// The name.
    pub name: String,
    /// Where it is hosted, when the server says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its deletion started, if it is being deleted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

/// A stream as its basin lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    /// The name.
    pub name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its deletion started, if it is being deleted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Its encryption algorithm, if its records are encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
}

/// What `ensure` did: the resource, and whether this call created it or changed its
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ensured<T> {
    /// The resource.
    #[serde(flatten)]
    pub info: T,
    /// Whether this call created it (false: it already existed).
    pub created: bool,
    /// Whether it existed and this call changed its configuration to the one given.
    pub config_updated: bool,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items, in name order.
    pub items: Vec<T>,
    /// Whether more items follow (ask again with `start_after` = the last name).
    pub has_more: bool,
}

/// Which page of a listing to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only names with this prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only names after this one.
    #[serde(default)]
    pub start_after: Option<String>,
    /// At most this many items (the server caps it at 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A pattern for the resources an access token covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResourceSet {
    /// Exactly this name (the empty string: none).
    Exact(String),
    /// Every name with this prefix (the empty string: all).
    Prefix(String),
}

/// Read and write permission for one group of operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadWrite {
    /// Read operations.
    #[serde(default)]
    pub read: bool,
    /// Write operations.
    #[serde(default)]
    pub write: bool,
}

/// Permissions by operation group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationGroups {
    /// Account operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<ReadWrite>,
    /// Basin operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basin: Option<ReadWrite>,
    /// Stream operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<ReadWrite>,
}

/// What an access token may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenScope {
    /// The basins it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basins: Option<ResourceSet>,
    /// The streams it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<ResourceSet>,
    /// The access tokens it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_tokens: Option<ResourceSet>,
    /// Permissions by operation group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_groups: Option<OperationGroups>,
    /// Individual operations, by S2's snake_case names (`append`, `read`, `create_stream`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<String>,
}

/// A request to issue an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenRequest {
    /// The token's id (unique in the account, 1-96 bytes).
    pub id: String,
    /// When it expires (RFC 3339); never when absent.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Whether stream names are prefixed on creation and the prefix stripped on listing.
    #[serde(default)]
    pub auto_prefix_streams: bool,
    /// What it may do.
    #[serde(default)]
    pub scope: AccessTokenScope,
}

/// An issued access token, as listed (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenInfo {
    /// The id.
    pub id: String,
    /// When it expires (RFC 3339), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// See [`AccessTokenRequest::auto_prefix_streams`].
    pub auto_prefix_streams: bool,
    /// What it may do.
    pub scope: AccessTokenScope,
}

// ---------------------------------------------------------------- conversions to the SDK

fn cipher(
    context: Context<'_>,
    parameter: &str,
    name: &str,
) -> Result<sdk::EncryptionAlgorithm, S2Error> {
    match name {
        "aegis-256" => Ok(sdk::EncryptionAlgorithm::Aegis256),
        "aes-256-gcm" => Ok(sdk::EncryptionAlgorithm::Aes256Gcm),
        other => Err(S2Error::invalid_argument(
            context,
            parameter,
            format!("unknown cipher {other:?} (expected \"aegis-256\" or \"aes-256-gcm\")"),
        )),
    }
}

fn cipher_name(cipher: sdk::EncryptionAlgorithm) -> String {
    match cipher {
        sdk::EncryptionAlgorithm::Aegis256 => "aegis-256".to_owned(),
        sdk::EncryptionAlgorithm::Aes256Gcm => "aes-256-gcm".to_owned(),
    }
}

fn storage_class(context: Context<'_>, parameter: &str, class: &str) -> Result<String, S2Error> {
    match class {
        "standard" | "express" => Ok(class.to_owned()),
        other => Err(S2Error::invalid_argument(
            context,
            parameter,
            format!("unknown storage class {other:?} (expected \"standard\" or \"express\")"),
        )),
    }
}

impl From<RetentionPolicy> for sdk::RetentionPolicy {
    fn from(policy: RetentionPolicy) -> sdk::RetentionPolicy {
        match policy {
            RetentionPolicy::Age(secs) => sdk::RetentionPolicy::Age(secs),
            RetentionPolicy::Infinite(_) => sdk::RetentionPolicy::Infinite,
        }
    }
}

impl From<sdk::RetentionPolicy> for RetentionPolicy {
    fn from(policy: sdk::RetentionPolicy) -> RetentionPolicy {
        match policy {
            sdk::RetentionPolicy::Age(secs) => RetentionPolicy::Age(secs),
            sdk::RetentionPolicy::Infinite => RetentionPolicy::Infinite(Infinite {}),
        }
    }
}

impl From<TimestampingMode> for sdk::TimestampingMode {
    fn from(mode: TimestampingMode) -> sdk::TimestampingMode {
        match mode {
            TimestampingMode::ClientPrefer => sdk::TimestampingMode::ClientPrefer,
            TimestampingMode::ClientRequire => sdk::TimestampingMode::ClientRequire,
            TimestampingMode::Arrival => sdk::TimestampingMode::Arrival,
        }
    }
}

impl From<sdk::TimestampingMode> for TimestampingMode {
    fn from(mode: sdk::TimestampingMode) -> TimestampingMode {
        match mode {
            sdk::TimestampingMode::ClientPrefer => TimestampingMode::ClientPrefer,
            sdk::TimestampingMode::ClientRequire => TimestampingMode::ClientRequire,
            sdk::TimestampingMode::Arrival => TimestampingMode::Arrival,
        }
    }
}

impl Timestamping {
    fn to_sdk(self) -> sdk::TimestampingConfig {
        let mut config = sdk::TimestampingConfig::new();
        if let Some(mode) = self.mode {
            config = config.with_mode(mode.into());
        }
        if let Some(uncapped) = self.uncapped {
            config = config.with_uncapped(uncapped);
        }
        config
    }
}

impl StreamConfig {
    /// The SDK's form, checking the storage class. `parameter` names this configuration in
    /// errors.
    pub fn to_sdk(
        &self,
        context: Context<'_>,
        parameter: &str,
    ) -> Result<sdk::StreamConfig, S2Error> {
        let mut config = sdk::StreamConfig::new();
        if let Some(class) = &self.storage_class {
            let class = storage_class(context, &format!("{parameter}.storage_class"), class)?;
            config = config.with_storage_class(class.as_str());
        }
        if let Some(policy) = self.retention_policy {
            config = config.with_retention_policy(policy.into());
        }
        if let Some(timestamping) = self.timestamping {
            config = config.with_timestamping(timestamping.to_sdk());
        }
        if let Some(delete) = self.delete_on_empty {
            config = config.with_delete_on_empty(
                sdk::DeleteOnEmptyConfig::new()
                    .with_min_age(std::time::Duration::from_secs(delete.min_age_secs)),
            );
        }
        Ok(config)
    }

    /// From the SDK's form.
    pub fn from_sdk(config: &sdk::StreamConfig) -> StreamConfig {
        StreamConfig {
            storage_class: config.storage_class.as_ref().map(|c| c.to_string()),
            retention_policy: config.retention_policy.map(Into::into),
            timestamping: config.timestamping.map(|t| Timestamping {
                mode: t.mode.map(Into::into),
                uncapped: t.uncapped,
            }),
            delete_on_empty: config.delete_on_empty.map(|d| DeleteOnEmpty {
                min_age_secs: d.min_age_secs,
            }),
        }
    }
}

impl BasinConfig {
    /// The SDK's form.
    pub fn to_sdk(&self, context: Context<'_>) -> Result<sdk::BasinConfig, S2Error> {
        let mut config = sdk::BasinConfig::new()
            .with_create_stream_on_append(self.create_stream_on_append)
            .with_create_stream_on_read(self.create_stream_on_read);
        if let Some(stream) = &self.default_stream_config {
            config = config.with_default_stream_config(
                stream.to_sdk(context, "config.default_stream_config")?,
            );
        }
        if let Some(name) = &self.stream_cipher {
            config = config.with_stream_cipher(cipher(context, "config.stream_cipher", name)?);
        }
        Ok(config)
    }

    /// From the SDK's form.
    pub fn from_sdk(config: &sdk::BasinConfig) -> BasinConfig {
        BasinConfig {
            default_stream_config: config
                .default_stream_config
                .as_ref()
                .map(StreamConfig::from_sdk),
            stream_cipher: config.stream_cipher.map(cipher_name),
            create_stream_on_append: config.create_stream_on_append,
            create_stream_on_read: config.create_stream_on_read,
        }
    }
}

fn maybe<T, U>(
    field: Option<Option<T>>,
    convert: impl FnOnce(T) -> Result<U, S2Error>,
) -> Result<Maybe<Option<U>>, S2Error> {
    Ok(match field {
        None => Maybe::Unspecified,
        Some(None) => Maybe::Specified(None),
        Some(Some(value)) => Maybe::Specified(Some(convert(value)?)),
    })
}

impl StreamReconfiguration {
    /// The SDK's form.
    pub fn to_sdk(
        &self,
        context: Context<'_>,
        parameter: &str,
    ) -> Result<sdk::StreamReconfiguration, S2Error> {
        let mut change = sdk::StreamReconfiguration::new();
        change.storage_class = maybe(self.storage_class.clone(), |class| {
            storage_class(context, &format!("{parameter}.storage_class"), &class).map(Into::into)
        })?;
        change.retention_policy = maybe(self.retention_policy, |p| Ok(p.into()))?;
        change.timestamping = maybe(self.timestamping, |t| {
            let mut reconfiguration = sdk::TimestampingReconfiguration::new();
            reconfiguration.mode = Maybe::Specified(t.mode.map(Into::into));
            reconfiguration.uncapped = Maybe::Specified(t.uncapped);
            Ok(reconfiguration)
        })?;
        change.delete_on_empty = maybe(self.delete_on_empty, |d| {
            let mut reconfiguration = sdk::DeleteOnEmptyReconfiguration::new();
            reconfiguration.min_age_secs = Maybe::Specified(Some(d.min_age_secs));
            Ok(reconfiguration)
        })?;
        Ok(change)
    }
}

impl BasinReconfiguration {
    /// The SDK's form.
    pub fn to_sdk(&self, context: Context<'_>) -> Result<sdk::BasinReconfiguration, S2Error> {
        let mut change = sdk::BasinReconfiguration::new();
        change.default_stream_config = maybe(self.default_stream_config.clone(), |s| {
            s.to_sdk(context, "config.default_stream_config")
        })?;
        change.stream_cipher = maybe(self.stream_cipher.clone(), |name| {
            cipher(context, "config.stream_cipher", &name)
        })?;
        if let Some(value) = self.create_stream_on_append {
            change.create_stream_on_append = Maybe::Specified(value);
        }
        if let Some(value) = self.create_stream_on_read {
            change.create_stream_on_read = Maybe::Specified(value);
        }
        Ok(change)
    }
}

impl From<sdk::BasinInfo> for BasinInfo {
    fn from(info: sdk::BasinInfo) -> BasinInfo {
        BasinInfo {
            name: info.name.to_string(),
            location: info.location.map(|l| l.to_string()),
            created_at: info.created_at.to_string(),
            deleted_at: info.deleted_at.map(|d| d.to_string()),
        }
    }
}

impl From<sdk::StreamInfo> for StreamInfo {
    fn from(info: sdk::StreamInfo) -> StreamInfo {
        StreamInfo {
            name: info.name.to_string(),
            created_at: info.created_at.to_string(),
            deleted_at: info.deleted_at.map(|d| d.to_string()),
            cipher: info.cipher.map(cipher_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_config_json_uses_the_rest_api_names() {
        let config: StreamConfig = serde_json::from_str(
            r#"{"storage_class":"express","retention_policy":{"age":3600},
                "timestamping":{"mode":"arrival"},"delete_on_empty":{"min_age_secs":60}}"#,
        )
        .expect("valid JSON");
        assert_eq!(config.retention_policy, Some(RetentionPolicy::Age(3600)));
        assert_eq!(
            config.timestamping.and_then(|t| t.mode),
            Some(TimestampingMode::Arrival)
        );
        let sdk = config
            .to_sdk(Context::account("test"), "config")
            .expect("valid config");
        assert_eq!(StreamConfig::from_sdk(&sdk), config);
        let infinite: StreamConfig =
            serde_json::from_str(r#"{"retention_policy":{"infinite":{}}}"#).expect("valid JSON");
        assert_eq!(
            infinite.retention_policy,
            Some(RetentionPolicy::Infinite(Infinite {}))
        );
    }

    #[test]
    fn unknown_fields_and_values_are_refused_naming_them() {
        assert!(serde_json::from_str::<StreamConfig>(r#"{"retention":1}"#).is_err());
        let config: StreamConfig =
            serde_json::from_str(r#"{"storage_class":"gold"}"#).expect("valid JSON");
        let error = config
            .to_sdk(Context::account("test"), "config")
            .expect_err("unknown class");
        assert!(
            error.to_string().contains("config.storage_class"),
            "{error}"
        );
    }

    #[test]
    fn reconfiguration_tells_absent_null_and_value_apart() {
        let change: StreamReconfiguration =
            serde_json::from_str(r#"{"storage_class":null,"retention_policy":{"age":5}}"#)
                .expect("valid JSON");
        assert_eq!(change.storage_class, Some(None));
        assert_eq!(change.retention_policy, Some(Some(RetentionPolicy::Age(5))));
        assert_eq!(change.timestamping, None);
        let sdk = change
            .to_sdk(Context::account("test"), "config")
            .expect("valid change");
        assert!(matches!(sdk.storage_class, Maybe::Specified(None)));
        assert!(sdk.timestamping.is_unspecified());
    }
}
