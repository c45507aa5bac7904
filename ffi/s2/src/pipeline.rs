//! The machinery shared by append sessions and producers: submissions are queued in call order
//! and handed to the session one at a time (each waits for room), and acknowledgements are
//! delivered in order by a second task.

use std::future::Future;
use std::pin::Pin;

use s2_streamstore_core::{Context, ErrorKind, S2Error as CoreError, StreamClient};
use tokio::sync::{mpsc, oneshot};

use crate::callback::{Callback, Done, Once};
use crate::error::{FfiResult, S2Error};
use crate::runtime::runtime;

/// A boxed future the pipeline awaits.
pub(crate) type Pending<T> = Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send>>;

/// A boxed future borrowing the sink (awaited before the sink is used again).
pub(crate) type Borrowed<'a, T> = Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send + 'a>>;

/// What the pipeline drives: an append session or a producer.
pub(crate) trait Sink: Send + 'static {
    /// What one submission carries.
    type Item: Send + 'static;
    /// The acknowledgement's C callback.
    type Ack: Callback<Error = S2Error>;

    /// Waits for room, submits, and returns the acknowledgement to come.
    fn submit(&self, item: Self::Item) -> Borrowed<'_, Pending<<Self::Ack as Callback>::Value>>;
    /// Sends what is pending without closing (producers); `None` when not supported.
    fn flush(&self) -> Option<Borrowed<'_, ()>>;
    /// Waits for every acknowledgement and closes.
    fn close(&mut self) -> Borrowed<'_, ()>;
}

enum Job<S: Sink> {
    Submit {
        item: S::Item,
        accepted: Option<Once<Done>>,
        ack: Option<Once<S::Ack>>,
    },
    Flush(Once<Done>),
    Close(Once<Done>),
}

impl<S: Sink> Job<S> {
    /// Reports `CLOSED` to every callback of a job that came after the close.
    fn refuse(self, closed: &Closed) {
        match self {
            Job::Submit { accepted, ack, .. } => reject(closed.error("append"), accepted, ack),
            Job::Flush(done) => done.finish(Err(closed.error("flush"))),
            Job::Close(done) => done.finish(Err(closed.error("close"))),
        }
    }
}

/// What a job after the close reports: `CLOSED`, naming the stream.
#[derive(Clone)]
struct Closed {
    stream: StreamClient,
    what: &'static str,
}

impl Closed {
    fn error(&self, operation: &str) -> Box<S2Error> {
        CoreError::new(
            ErrorKind::Closed,
            Context::stream(operation, self.stream.basin(), self.stream.name()),
            format!("the {} is closed", self.what),
        )
        .into()
    }
}

/// The C-facing side of a pipeline: the queue into its submitter task.
pub(crate) struct Pipeline<S: Sink> {
    jobs: mpsc::UnboundedSender<Job<S>>,
    closed: Closed,
}

impl<S: Sink> Pipeline<S>
where
    <S::Ack as Callback>::Value: Send,
{
    /// Starts the tasks for `sink` on `stream` (a `what`: "append session" or "producer"),
    /// which `open` builds on the runtime (sessions spawn their own tasks when created).
    pub(crate) fn start(
        stream: &StreamClient,
        what: &'static str,
        open: impl FnOnce() -> Result<S, CoreError>,
    ) -> FfiResult<Pipeline<S>> {
        let runtime = runtime()?;
        let sink = {
            let _context = runtime.enter();
            open()?
        };
        let closed = Closed {
            stream: stream.clone(),
            what,
        };
        let (jobs, receiver) = mpsc::unbounded_channel();
        runtime.spawn(run(sink, receiver, closed.clone()));
        Ok(Pipeline { jobs, closed })
    }

    /// Queues `job`; after the close it is refused with `CLOSED`.
    fn queue(&self, job: Job<S>) {
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job) {
            job.refuse(&self.closed);
        }
    }

    /// Queues a submission. `accepted` fires once the session took it (there was room);
    /// `ack` once it is stored (or failed).
    pub(crate) fn submit(
        &self,
        item: S::Item,
        accepted: Option<Once<Done>>,
        ack: Option<Once<S::Ack>>,
    ) {
        self.queue(Job::Submit {
            item,
            accepted,
            ack,
        });
    }

    /// Queues a submission whose checks gave `prepared`; a rejected one reports its error to
    /// both callbacks at once.
    pub(crate) fn submit_checked(
        &self,
        prepared: FfiResult<S::Item>,
        accepted: Option<Once<Done>>,
        ack: Option<Once<S::Ack>>,
    ) {
        match prepared {
            Ok(item) => self.submit(item, accepted, ack),
            Err(error) => reject(error, accepted, ack),
        }
    }

    /// Queues a flush after every submission so far.
    pub(crate) fn flush(&self, done: Once<Done>) {
        self.queue(Job::Flush(done));
    }

    /// Queues the close after every submission so far.
    pub(crate) fn close(&self, done: Once<Done>) {
        self.queue(Job::Close(done));
    }
}

/// Reports a submission that failed its checks to both of its callbacks.
pub(crate) fn reject<A: Callback<Error = S2Error>>(
    error: Box<S2Error>,
    accepted: Option<Once<Done>>,
    ack: Option<Once<A>>,
) {
    if let Some(accepted) = accepted {
        accepted.finish(Err(Box::new(S2Error::clone_of(&error))));
    }
    if let Some(ack) = ack {
        ack.finish(Err(error));
    }
}

/// Runs `queue` with the pipeline behind a required handle, or reports the handle error
/// through `done` (the shared body of the flush and close exports).
pub(crate) fn with_pipeline<'a, S: Sink>(
    pipeline: FfiResult<&'a Pipeline<S>>,
    done: Once<Done>,
    queue: impl FnOnce(&'a Pipeline<S>, Once<Done>),
) where
    <S::Ack as Callback>::Value: Send,
{
    match pipeline {
        Ok(pipeline) => queue(pipeline, done),
        Err(error) => done.finish(Err(error)),
    }
}

async fn run<S: Sink>(mut sink: S, mut jobs: mpsc::UnboundedReceiver<Job<S>>, closed: Closed)
where
    <S::Ack as Callback>::Value: Send,
{
    let (acks, ack_receiver) = mpsc::unbounded_channel();
    let (drained_tx, drained) = oneshot::channel::<()>();
    tokio::spawn(deliver_acks::<S>(ack_receiver, drained_tx));
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Submit {
                item,
                accepted,
                ack,
            } => match sink.submit(item).await {
                Ok(pending) => {
                    if let Some(accepted) = accepted {
                        accepted.finish(Ok(()));
                    }
                    let _ = acks.send((pending, ack));
                }
                Err(error) => {
                    if let Some(accepted) = accepted {
                        accepted.finish(Err(error.clone().into()));
                    }
                    if let Some(ack) = ack {
                        ack.finish(Err(error.into()));
                    }
                }
            },
            Job::Flush(done) => {
                let result = match sink.flush() {
                    Some(flush) => flush.await,
                    None => Ok(()),
                };
                done.finish(result.map_err(Into::into));
            }
            Job::Close(done) => {
                let result = sink.close().await;
                drop(acks);
                // Every acknowledgement is delivered before the close reports.
                let _ = drained.await;
                done.finish(result.map_err(Into::into));
                // Jobs queued behind the close, and later ones (their send fails), are refused.
                jobs.close();
                while let Some(job) = jobs.recv().await {
                    job.refuse(&closed);
                }
                return;
            }
        }
    }
}

/// An acknowledgement to come and the callback waiting for it.
type AwaitedAck<S> = (
    Pending<<<S as Sink>::Ack as Callback>::Value>,
    Option<Once<<S as Sink>::Ack>>,
);

async fn deliver_acks<S: Sink>(
    mut acks: mpsc::UnboundedReceiver<AwaitedAck<S>>,
    drained: oneshot::Sender<()>,
) where
    <S::Ack as Callback>::Value: Send,
{
    while let Some((pending, ack)) = acks.recv().await {
        let result = pending.await;
        if let Some(ack) = ack {
            ack.finish(result.map_err(Into::into));
        }
    }
    let _ = drained.send(());
}
