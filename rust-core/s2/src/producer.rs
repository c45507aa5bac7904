//! [`Producer`]: one record at a time, batched by linger time and size, acknowledged per
//! record; with a non-blocking [`Producer::try_submit`] for callers on their own threads.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use s2_sdk::producer::{Producer as SdkProducer, RecordSubmitTicket};
use s2_sdk::types::{AppendRecord, MeteredBytes};

use crate::closable::{Closable, Held};
use crate::error::S2Error;
use crate::stream::{AppendAck, StreamClient};

/// One record at a time, batched by linger time and size, acknowledged per record. Shared by
/// reference: every method takes `&self`.
pub struct Producer {
    // `try_submit` never waits, so it works under the lock; `submit` waits without it.
    producer: Closable<SdkProducer>,
    stream: StreamClient,
    /// The same stream, for the errors of acknowledgements still to come: each one holds one
    /// reference count, where a `StreamClient` clone would bump three on every record.
    for_acks: Arc<StreamClient>,
}

/// A record's acknowledgement: its sequence number and its batch's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAck {
    /// The record's sequence number.
    pub seq_num: u64,
    /// The acknowledgement of the batch that carried it.
    pub batch: AppendAck,
}

/// A submitted record's acknowledgement to come: a future of its [`RecordAck`], or of the
/// error that kept it from being stored. A named type (not boxed), so that a caller holding one
/// per record in flight pays no allocation for it.
pub struct Acknowledgement {
    ticket: RecordSubmitTicket,
    stream: Arc<StreamClient>,
}

impl Future for Acknowledgement {
    type Output = Result<RecordAck, S2Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.ticket).poll(cx).map(|result| {
            result
                .map(|ack| RecordAck {
                    seq_num: ack.seq_num,
                    batch: ack.batch.into(),
                })
                .map_err(|e| S2Error::from_producer(this.stream.context("append"), &e))
        })
    }
}

impl fmt::Debug for Acknowledgement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acknowledgement")
            .field("basin", &self.stream.basin())
            .field("stream", &self.stream.name())
            .finish_non_exhaustive()
    }
}

/// What [`Producer::try_submit`] did with a record.
pub enum TrySubmit<T> {
    /// Submitted: the acknowledgement to come.
    Submitted(T),
    /// No room now: the record, untouched (submit it with [`Producer::submit`], which waits).
    Full(AppendRecord),
}

impl Producer {
    pub(crate) fn new(producer: SdkProducer, stream: StreamClient) -> Producer {
        Producer {
            producer: Closable::new(producer),
            for_acks: Arc::new(stream.clone()),
            stream,
        }
    }

    fn closed(&self, operation: &str) -> S2Error {
        S2Error::new(
            crate::ErrorKind::Closed,
            self.stream.context(operation),
            "the producer is closed",
        )
    }

    fn current(&self, operation: &str) -> Result<Held<SdkProducer>, S2Error> {
        self.producer
            .current()
            .ok_or_else(|| self.closed(operation))
    }

    fn acknowledgement(&self, ticket: RecordSubmitTicket) -> Acknowledgement {
        Acknowledgement {
            ticket,
            stream: Arc::clone(&self.for_acks),
        }
    }

    /// Submits a record once there is room; the returned future completes with its
    /// acknowledgement.
    pub async fn submit(&self, record: AppendRecord) -> Result<Acknowledgement, S2Error> {
        let producer = self.current("append")?;
        let ticket = producer
            .submit(record)
            .await
            .map_err(|e| S2Error::from_producer(self.stream.context("append"), &e))?;
        Ok(self.acknowledgement(ticket))
    }

    /// Submits a record if there is room now, without waiting (callable from any thread, with
    /// or without a runtime); otherwise gives it back. Records submitted this way and with
    /// [`Producer::submit`] keep the order of the calls that submitted them.
    pub fn try_submit(&self, record: AppendRecord) -> Result<TrySubmit<Acknowledgement>, S2Error> {
        let guard = self.producer.lock();
        let producer = guard.as_ref().ok_or_else(|| self.closed("append"))?;
        // Reserving is cancel-safe: when it cannot complete at once, dropping it releases
        // whatever it had acquired.
        let bytes = u32::try_from(record.metered_bytes()).unwrap_or(u32::MAX);
        match producer.reserve(bytes).now_or_never() {
            None => Ok(TrySubmit::Full(record)),
            Some(Err(e)) => Err(S2Error::from_producer(self.stream.context("append"), &e)),
            Some(Ok(permit)) => Ok(TrySubmit::Submitted(
                self.acknowledgement(permit.submit(record)),
            )),
        }
    }

    /// Sends the current partial batch now and waits until every record submitted before
    /// this call is stored.
    pub async fn flush(&self) -> Result<(), S2Error> {
        let producer = self.current("flush the producer")?;
        producer
            .flush()
            .await
            .map_err(|e| S2Error::from_producer(self.stream.context("flush the producer"), &e))
    }

    /// Flushes and closes, once submissions already waiting for room are in. Later calls
    /// fail with [`crate::ErrorKind::Closed`].
    pub async fn close(&self) -> Result<(), S2Error> {
        let context = self.stream.context("close the producer");
        let producer = self
            .producer
            .take()
            .await
            .ok_or_else(|| self.closed("close the producer"))?;
        producer
            .close()
            .await
            .map_err(|e| S2Error::from_producer(context, &e))
    }
}
