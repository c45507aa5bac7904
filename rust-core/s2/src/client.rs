//! The account and basin operations: basins, streams and access tokens (metrics and locations
//! are in `metrics`).

use s2_sdk::S2;
use s2_sdk::types as sdk;

use crate::access;
use crate::error::{Context, S2Error};
use crate::model::{
    AccessTokenInfo, AccessTokenRequest, BasinConfig, BasinInfo, BasinReconfiguration, Ensured,
    ListRequest, Page, StreamConfig, StreamInfo, StreamReconfiguration,
};
use crate::options::ClientOptions;
use crate::stream::StreamClient;

/// Parses a name of type `T`, naming `parameter` when it breaks S2's rules.
pub(crate) fn parse_name<T>(context: Context<'_>, parameter: &str, name: &str) -> Result<T, S2Error>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    name.parse()
        .map_err(|e| S2Error::invalid_argument(context, parameter, e))
}

/// The SDK's list input of type `$input` for `request`, its names checked (the three listings
/// share these builder methods but no trait).
macro_rules! list_input {
    ($input:ty, $context:expr, $request:expr) => {{
        let mut input = <$input>::new();
        if let Some(prefix) = &$request.prefix {
            input = input.with_prefix(parse_name($context, "prefix", prefix)?);
        }
        if let Some(after) = &$request.start_after {
            input = input.with_start_after(parse_name($context, "start_after", after)?);
        }
        if let Some(limit) = $request.limit {
            input = input.with_limit(limit);
        }
        input
    }};
}

/// A client of one S2 account. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct S2Client {
    sdk: S2,
}

impl std::fmt::Debug for S2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S2Client").finish_non_exhaustive()
    }
}

fn ensured<T, U: From<T>>(output: sdk::EnsureOutput<T>) -> Ensured<U> {
    let (info, created, config_updated) = match output {
        sdk::EnsureOutput::Created(info) => (info, true, false),
        sdk::EnsureOutput::ConfigUpdated(info) => (info, false, true),
        sdk::EnsureOutput::ConfigUnchanged(info) => (info, false, false),
    };
    Ensured {
        info: info.into(),
        created,
        config_updated,
    }
}

impl S2Client {
    /// A client for `options`. Connects lazily: a wrong endpoint shows on the first call.
    pub fn new(options: &ClientOptions) -> Result<S2Client, S2Error> {
        let config = options.to_config()?;
        let sdk = S2::new(config)
            .map_err(|e| S2Error::from_request(Context::account("create the client"), &e))?;
        Ok(S2Client { sdk })
    }

    /// The SDK client (for the other modules' operations).
    pub(crate) fn sdk(&self) -> &S2 {
        &self.sdk
    }

    /// A handle on `stream` in `basin` (names checked; nothing is sent).
    pub fn stream(&self, basin: &str, stream: &str) -> Result<StreamClient, S2Error> {
        let context = Context::stream("open the stream", basin, stream);
        let basin_name: sdk::BasinName = parse_name(context, "basin", basin)?;
        let stream_name: sdk::StreamName = parse_name(context, "stream", stream)?;
        Ok(StreamClient::new(
            self.sdk.basin(basin_name).stream(stream_name),
            basin,
            stream,
        ))
    }

    // ------------------------------------------------------------ basins

    /// One page of the account's basins.
    pub async fn list_basins(&self, request: &ListRequest) -> Result<Page<BasinInfo>, S2Error> {
        let context = Context::account("list basins");
        let input = list_input!(sdk::ListBasinsInput, context, request);
        let page = self
            .sdk
            .list_basins(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(Page {
            items: page.values.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
        })
    }

    /// Creates `name`; an existing basin is [`crate::ErrorKind::AlreadyExists`].
    pub async fn create_basin(
        &self,
        name: &str,
        config: Option<&BasinConfig>,
    ) -> Result<BasinInfo, S2Error> {
        let context = Context::basin("create basin", name);
        let mut input = sdk::CreateBasinInput::new(parse_name(context, "basin", name)?);
        if let Some(config) = config {
            input = input.with_config(config.to_sdk(context)?);
        }
        let info = self
            .sdk
            .create_basin(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(info.into())
    }

    /// Declares `name`: creates it, or makes an existing basin's configuration `config` (`None`
    /// is the defaults, so an existing basin's settings are reset). Idempotent.
    pub async fn ensure_basin(
        &self,
        name: &str,
        config: Option<&BasinConfig>,
    ) -> Result<Ensured<BasinInfo>, S2Error> {
        let context = Context::basin("ensure basin", name);
        let mut input = sdk::EnsureBasinInput::new(parse_name(context, "basin", name)?);
        if let Some(config) = config {
            input = input.with_config(config.to_sdk(context)?);
        }
        let output = self
            .sdk
            .ensure_basin(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(ensured(output))
    }

    /// The configuration of `name`.
    pub async fn basin_config(&self, name: &str) -> Result<BasinConfig, S2Error> {
        let context = Context::basin("get basin config", name);
        let config = self
            .sdk
            .get_basin_config(parse_name(context, "basin", name)?)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(BasinConfig::from_sdk(&config))
    }

    /// Changes the configuration of `name`; returns the new configuration.
    pub async fn reconfigure_basin(
        &self,
        name: &str,
        change: &BasinReconfiguration,
    ) -> Result<BasinConfig, S2Error> {
        let context = Context::basin("reconfigure basin", name);
        let input = sdk::ReconfigureBasinInput::new(
            parse_name(context, "basin", name)?,
            change.to_sdk(context)?,
        );
        let config = self
            .sdk
            .reconfigure_basin(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(BasinConfig::from_sdk(&config))
    }

    /// Deletes `name` (deletion completes in the background).
    pub async fn delete_basin(&self, name: &str, ignore_not_found: bool) -> Result<(), S2Error> {
        let context = Context::basin("delete basin", name);
        let input = sdk::DeleteBasinInput::new(parse_name(context, "basin", name)?)
            .with_ignore_not_found(ignore_not_found);
        self.sdk
            .delete_basin(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))
    }

    // ------------------------------------------------------------ streams

    /// One page of the streams of `basin`.
    pub async fn list_streams(
        &self,
        basin: &str,
        request: &ListRequest,
    ) -> Result<Page<StreamInfo>, S2Error> {
        let context = Context::basin("list streams", basin);
        let input = list_input!(sdk::ListStreamsInput, context, request);
        let page = self
            .basin(context, basin)?
            .list_streams(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(Page {
            items: page.values.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
        })
    }

    fn basin(&self, context: Context<'_>, basin: &str) -> Result<s2_sdk::S2Basin, S2Error> {
        Ok(self.sdk.basin(parse_name(context, "basin", basin)?))
    }

    /// Creates `stream` in `basin`; an existing stream is
    /// [`crate::ErrorKind::AlreadyExists`].
    pub async fn create_stream(
        &self,
        basin: &str,
        stream: &str,
        config: Option<&StreamConfig>,
    ) -> Result<StreamInfo, S2Error> {
        let context = Context::stream("create stream", basin, stream);
        let mut input = sdk::CreateStreamInput::new(parse_name(context, "stream", stream)?);
        if let Some(config) = config {
            input = input.with_config(config.to_sdk(context, "config")?);
        }
        let info = self
            .basin(context, basin)?
            .create_stream(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(info.into())
    }

    /// Declares `stream` in `basin`: creates it, or makes an existing stream's configuration
    /// `config` (`None` is the defaults, so an existing stream's settings are reset). Idempotent.
    pub async fn ensure_stream(
        &self,
        basin: &str,
        stream: &str,
        config: Option<&StreamConfig>,
    ) -> Result<Ensured<StreamInfo>, S2Error> {
        let context = Context::stream("ensure stream", basin, stream);
        let mut input = sdk::EnsureStreamInput::new(parse_name(context, "stream", stream)?);
        if let Some(config) = config {
            input = input.with_config(config.to_sdk(context, "config")?);
        }
        let output = self
            .basin(context, basin)?
            .ensure_stream(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(ensured(output))
    }

    /// The configuration of `stream` in `basin`.
    pub async fn stream_config(&self, basin: &str, stream: &str) -> Result<StreamConfig, S2Error> {
        let context = Context::stream("get stream config", basin, stream);
        let config = self
            .basin(context, basin)?
            .get_stream_config(parse_name(context, "stream", stream)?)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(StreamConfig::from_sdk(&config))
    }

    /// Changes the configuration of `stream`; returns the new configuration.
    pub async fn reconfigure_stream(
        &self,
        basin: &str,
        stream: &str,
        change: &StreamReconfiguration,
    ) -> Result<StreamConfig, S2Error> {
        let context = Context::stream("reconfigure stream", basin, stream);
        let input = sdk::ReconfigureStreamInput::new(
            parse_name(context, "stream", stream)?,
            change.to_sdk(context, "config")?,
        );
        let config = self
            .basin(context, basin)?
            .reconfigure_stream(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(StreamConfig::from_sdk(&config))
    }

    /// Deletes `stream` from `basin`.
    pub async fn delete_stream(
        &self,
        basin: &str,
        stream: &str,
        ignore_not_found: bool,
    ) -> Result<(), S2Error> {
        let context = Context::stream("delete stream", basin, stream);
        let input = sdk::DeleteStreamInput::new(parse_name(context, "stream", stream)?)
            .with_ignore_not_found(ignore_not_found);
        self.basin(context, basin)?
            .delete_stream(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))
    }

    // ------------------------------------------------------------ access tokens

    /// Issues an access token; returns its secret.
    pub async fn issue_access_token(
        &self,
        request: &AccessTokenRequest,
    ) -> Result<String, S2Error> {
        let context = Context::account("issue access token");
        let input = access::issue_input(context, request)?;
        self.sdk
            .issue_access_token(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))
    }

    /// One page of the account's access tokens.
    pub async fn list_access_tokens(
        &self,
        request: &ListRequest,
    ) -> Result<Page<AccessTokenInfo>, S2Error> {
        let context = Context::account("list access tokens");
        let input = list_input!(sdk::ListAccessTokensInput, context, request);
        let page = self
            .sdk
            .list_access_tokens(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(Page {
            items: page.values.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
        })
    }

    /// Revokes the access token `id`.
    pub async fn revoke_access_token(&self, id: &str) -> Result<(), S2Error> {
        let context = Context::account("revoke access token");
        self.sdk
            .revoke_access_token(parse_name(context, "id", id)?)
            .await
            .map_err(|e| S2Error::from_request(context, &e))
    }
}
