//! One stream's data plane: tail, unary append and read, append sessions, producers and read
//! sessions.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use s2_sdk::S2Stream;
use s2_sdk::append_session::{AppendSession as SdkAppendSession, AppendSessionConfig};
use s2_sdk::batching::{BatchLimits, BatchingConfig};
use s2_sdk::producer::ProducerConfig;
use s2_sdk::read_session::ReadSession as SdkReadSession;
use s2_sdk::types::{
    self as sdk, AppendInput, AppendRecord, ReadFrom, ReadInput, ReadLimits, ReadSessionConfig,
    ReadSessionRetryPolicy, ReadStop, SequencedRecord,
};

use crate::closable::Closable;
use crate::error::{Context, S2Error};
use crate::model::Position;
use crate::producer::Producer;
use crate::records::{fencing_token, to_batch};

/// The positions an append was given: its first record, the end (one past its last record)
/// and the stream's tail after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendAck {
    /// The first record's position.
    pub start: Position,
    /// One past the last record.
    pub end: Position,
    /// The stream's tail when the append was acknowledged.
    pub tail: Position,
}

impl From<sdk::AppendAck> for AppendAck {
    fn from(ack: sdk::AppendAck) -> AppendAck {
        AppendAck {
            start: ack.start.into(),
            end: ack.end.into(),
            tail: ack.tail.into(),
        }
    }
}

/// Conditions on an append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendConditions {
    /// The append succeeds only if the stream's next sequence number is this one.
    pub match_seq_num: Option<u64>,
    /// The append succeeds only if the stream's fencing token is this one.
    pub fencing_token: Option<String>,
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStart {
    /// At this sequence number.
    SeqNum(u64),
    /// At the first record with a timestamp at or after this one (milliseconds).
    Timestamp(u64),
    /// This many records before the tail.
    TailOffset(u64),
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Where to start.
    pub start: ReadStart,
    /// Start at the tail instead of failing when `start` is past it.
    pub clamp_to_tail: bool,
    /// At most this many records (a unary read: at most 1000 by default).
    pub count: Option<usize>,
    /// At most this many metered bytes (a unary read: at most 1 MiB by default).
    pub bytes: Option<usize>,
    /// Stop before the first record with a timestamp at or after this one.
    pub until_timestamp: Option<u64>,
    /// Seconds to wait for new records at the tail (a unary read: at most 60, default 0;
    /// a session: forever unless a limit is set).
    pub wait_secs: Option<u32>,
    /// Leave out command records (fence, trim).
    pub ignore_command_records: bool,
}

impl ReadRequest {
    /// Everything from `start`, with no limits.
    pub fn from(start: ReadStart) -> ReadRequest {
        ReadRequest {
            start,
            clamp_to_tail: false,
            count: None,
            bytes: None,
            until_timestamp: None,
            wait_secs: None,
            ignore_command_records: false,
        }
    }

    fn to_sdk(&self) -> ReadInput {
        let from = match self.start {
            ReadStart::SeqNum(n) => ReadFrom::SeqNum(n),
            ReadStart::Timestamp(t) => ReadFrom::Timestamp(t),
            ReadStart::TailOffset(n) => ReadFrom::TailOffset(n),
        };
        let mut limits = ReadLimits::new();
        if let Some(count) = self.count {
            limits = limits.with_count(count);
        }
        if let Some(bytes) = self.bytes {
            limits = limits.with_bytes(bytes);
        }
        let mut stop = ReadStop::new().with_limits(limits);
        if let Some(until) = self.until_timestamp {
            stop = stop.with_until(..until);
        }
        if let Some(wait) = self.wait_secs {
            stop = stop.with_wait(wait);
        }
        ReadInput::new()
            .with_start(
                sdk::ReadStart::new()
                    .with_from(from)
                    .with_clamp_to_tail(self.clamp_to_tail),
            )
            .with_stop(stop)
            .with_ignore_command_records(self.ignore_command_records)
    }
}

/// Records read, in order, and the tail when the server reported it.
#[derive(Debug, Clone)]
pub struct ReadBatch {
    /// The records (bodies and headers are shared buffers, not copies).
    pub records: Vec<SequencedRecord>,
    /// The stream's tail, present when the read reached recent records.
    pub tail: Option<Position>,
}

impl From<sdk::ReadBatch> for ReadBatch {
    fn from(batch: sdk::ReadBatch) -> ReadBatch {
        ReadBatch {
            records: batch.records,
            tail: batch.tail.map(Into::into),
        }
    }
}

/// Settings of an append session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendSessionOptions {
    /// Metered bytes submitted but not yet acknowledged before `submit` waits (at least 1 MiB;
    /// default 5 MiB).
    pub max_unacked_bytes: Option<u32>,
    /// Batches submitted but not yet acknowledged before `submit` waits (default: no limit).
    pub max_unacked_batches: Option<u32>,
}

/// Settings of a producer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerOptions {
    /// Metered bytes submitted but not yet acknowledged before `submit` waits (at least 1 MiB;
    /// default 5 MiB).
    pub max_unacked_bytes: Option<u32>,
    /// How long a batch waits for more records (default 5 ms).
    pub linger: Option<Duration>,
    /// Records per batch (1-1000, default 1000).
    pub max_batch_records: Option<usize>,
    /// Metered bytes per batch (8 B - 1 MiB, default 1 MiB).
    pub max_batch_bytes: Option<usize>,
    /// Every batch carries this fencing token.
    pub fencing_token: Option<String>,
    /// The first batch must land at this sequence number; later ones follow on
    /// (exactly-once across retries: a batch stored twice is refused by the server).
    pub match_seq_num: Option<u64>,
}

/// Settings of a read session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSessionOptions {
    /// Keep retrying transient failures for as long as it takes (default: stop after the
    /// client's retry budget).
    pub retry_forever: bool,
}

/// A checked batch with its conditions, ready to send ([`StreamClient::prepare_append`]).
#[derive(Debug)]
pub struct PreparedAppend(AppendInput);

/// A handle on one stream. Cheap to clone.
#[derive(Clone)]
pub struct StreamClient {
    stream: Arc<S2Stream>,
    basin: Arc<str>,
    name: Arc<str>,
}

impl std::fmt::Debug for StreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamClient")
            .field("basin", &self.basin)
            .field("stream", &self.name)
            .finish()
    }
}

impl StreamClient {
    pub(crate) fn new(stream: S2Stream, basin: &str, name: &str) -> StreamClient {
        StreamClient {
            stream: Arc::new(stream),
            basin: basin.into(),
            name: name.into(),
        }
    }

    /// The basin's name.
    pub fn basin(&self) -> &str {
        &self.basin
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The error context for `operation` on this stream.
    pub fn context<'a>(&'a self, operation: &'a str) -> Context<'a> {
        Context::stream(operation, &self.basin, &self.name)
    }

    /// The position the next record will get.
    pub async fn check_tail(&self) -> Result<Position, S2Error> {
        let context = self.context("check tail");
        self.stream
            .check_tail()
            .await
            .map(Into::into)
            .map_err(|e| S2Error::from_read(context, &e))
    }

    /// Checks `records` (1-1000, at most 1 MiB metered) and `conditions` and builds the
    /// batch, with no I/O: the first half of [`StreamClient::append`], for callers that report
    /// bad input before they go asynchronous.
    pub fn prepare_append(
        &self,
        records: Vec<AppendRecord>,
        conditions: &AppendConditions,
    ) -> Result<PreparedAppend, S2Error> {
        let context = self.context("append");
        let mut input = AppendInput::new(to_batch(context, records)?);
        if let Some(seq) = conditions.match_seq_num {
            input = input.with_match_seq_num(seq);
        }
        if let Some(token) = &conditions.fencing_token {
            input = input.with_fencing_token(fencing_token(context, "fencing_token", token)?);
        }
        Ok(PreparedAppend(input))
    }

    /// Appends `records` (1-1000, at most 1 MiB metered) as one batch, atomically.
    pub async fn append(
        &self,
        records: Vec<AppendRecord>,
        conditions: &AppendConditions,
    ) -> Result<AppendAck, S2Error> {
        let prepared = self.prepare_append(records, conditions)?;
        self.append_prepared(prepared).await
    }

    /// Appends a batch built by [`StreamClient::prepare_append`].
    pub async fn append_prepared(&self, prepared: PreparedAppend) -> Result<AppendAck, S2Error> {
        let context = self.context("append");
        self.stream
            .append(prepared.0)
            .await
            .map(Into::into)
            .map_err(|e| S2Error::from_append(context, &e))
    }

    /// Reads one batch.
    pub async fn read(&self, request: &ReadRequest) -> Result<ReadBatch, S2Error> {
        let context = self.context("read");
        self.stream
            .read(request.to_sdk())
            .await
            .map(Into::into)
            .map_err(|e| S2Error::from_read(context, &e))
    }

    /// Opens an append session (must be called on a Tokio runtime).
    pub fn append_session(&self, options: &AppendSessionOptions) -> Result<AppendSession, S2Error> {
        let context = self.context("open an append session");
        let mut config = AppendSessionConfig::new();
        if let Some(bytes) = options.max_unacked_bytes {
            config = config
                .with_max_unacked_bytes(bytes)
                .map_err(|e| S2Error::invalid_argument(context, "max_unacked_bytes", e))?;
        }
        if let Some(batches) = options.max_unacked_batches {
            let batches = NonZeroU32::new(batches).ok_or_else(|| {
                S2Error::invalid_argument(context, "max_unacked_batches", "must be at least 1")
            })?;
            config = config.with_max_unacked_batches(batches);
        }
        Ok(AppendSession {
            session: Closable::new(self.stream.append_session(config)),
            stream: self.clone(),
        })
    }

    /// Opens a producer (must be called on a Tokio runtime).
    pub fn producer(&self, options: &ProducerOptions) -> Result<Producer, S2Error> {
        let context = self.context("open a producer");
        let mut config = ProducerConfig::new();
        if let Some(bytes) = options.max_unacked_bytes {
            config = config
                .with_max_unacked_bytes(bytes)
                .map_err(|e| S2Error::invalid_argument(context, "max_unacked_bytes", e))?;
        }
        let mut limits = BatchLimits::new();
        if let Some(records) = options.max_batch_records {
            limits = limits
                .with_max_batch_records(records)
                .map_err(|e| S2Error::invalid_argument(context, "max_batch_records", e))?;
        }
        if let Some(bytes) = options.max_batch_bytes {
            limits = limits
                .with_max_batch_bytes(bytes)
                .map_err(|e| S2Error::invalid_argument(context, "max_batch_bytes", e))?;
        }
        let mut batching = BatchingConfig::new().with_limits(limits);
        if let Some(linger) = options.linger {
            batching = batching.with_linger(linger);
        }
        config = config.with_batching(batching);
        if let Some(token) = &options.fencing_token {
            config = config.with_fencing_token(fencing_token(context, "fencing_token", token)?);
        }
        if let Some(seq) = options.match_seq_num {
            config = config.with_match_seq_num(seq);
        }
        Ok(Producer::new(self.stream.producer(config), self.clone()))
    }

    /// Opens a read session: batches as they come, resuming after transient failures at the
    /// next sequence number.
    pub async fn read_session(
        &self,
        request: &ReadRequest,
        options: ReadSessionOptions,
    ) -> Result<ReadSession, S2Error> {
        let context = self.context("open a read session");
        let mut config = ReadSessionConfig::new();
        if options.retry_forever {
            config = config.with_retry_policy(ReadSessionRetryPolicy::Indefinite);
        }
        let session = self
            .stream
            .read_session(request.to_sdk(), config)
            .await
            .map_err(|e| S2Error::from_read_session(context, &e))?;
        Ok(ReadSession {
            session,
            stream: self.clone(),
        })
    }
}

/// Pipelined appends with bounded memory: `submit` waits while too much is unacknowledged,
/// acknowledgements arrive in submission order.
pub struct AppendSession {
    session: Closable<SdkAppendSession>,
    stream: StreamClient,
}

impl AppendSession {
    fn closed(&self, operation: &str) -> S2Error {
        S2Error::new(
            crate::ErrorKind::Closed,
            self.stream.context(operation),
            "the append session is closed",
        )
    }

    /// Submits a batch once there is room; the returned future completes with its
    /// acknowledgement.
    pub async fn submit(
        &self,
        records: Vec<AppendRecord>,
        conditions: &AppendConditions,
    ) -> Result<impl Future<Output = Result<AppendAck, S2Error>> + Send + 'static, S2Error> {
        let prepared = self.stream.prepare_append(records, conditions)?;
        self.submit_prepared(prepared).await
    }

    /// Like [`AppendSession::submit`], for a batch built by [`StreamClient::prepare_append`].
    pub async fn submit_prepared(
        &self,
        prepared: PreparedAppend,
    ) -> Result<impl Future<Output = Result<AppendAck, S2Error>> + Send + 'static, S2Error> {
        let session = self
            .session
            .current()
            .ok_or_else(|| self.closed("append"))?;
        let context = self.stream.context("append");
        let ticket = session
            .submit(prepared.0)
            .await
            .map_err(|e| S2Error::from_append_session(context, &e))?;
        let stream = self.stream.clone();
        Ok(async move {
            ticket
                .await
                .map(Into::into)
                .map_err(|e| S2Error::from_append_session(stream.context("append"), &e))
        })
    }

    /// Waits for every submitted batch and closes the session. Later calls fail with
    /// [`crate::ErrorKind::Closed`].
    pub async fn close(&self) -> Result<(), S2Error> {
        let session = self
            .session
            .take()
            .await
            .ok_or_else(|| self.closed("close the append session"))?;
        session.close().await.map_err(|e| {
            S2Error::from_append_session(self.stream.context("close the append session"), &e)
        })
    }
}

/// Batches of a read session, in order.
pub struct ReadSession {
    session: SdkReadSession,
    stream: StreamClient,
}

impl ReadSession {
    /// The next batch; `None` when the session ended (a limit or `until` reached).
    pub async fn next(&mut self) -> Option<Result<ReadBatch, S2Error>> {
        let item = self.session.next().await?;
        Some(
            item.map(Into::into)
                .map_err(|e| S2Error::from_read_session(self.stream.context("read"), &e)),
        )
    }

    /// Whether every record up to the last reported tail was delivered.
    pub fn is_caught_up(&self) -> bool {
        self.session.is_caught_up()
    }

    /// Completes with `true` once every record up to a tail the server reported was delivered
    /// (at once if that is already so), `false` if the session ends first. The session only
    /// learns of tails while [`ReadSession::next`] is being awaited: await both together.
    pub fn caught_up(&self) -> impl Future<Output = bool> + Send + 'static {
        let caught_up = self.session.caught_up();
        async move { caught_up.await.is_ok() }
    }

    /// The sequence number the session expects next (where it resumes after a failure).
    pub fn next_seq_num(&self) -> Option<u64> {
        self.session.resume_seq_num()
    }
}
