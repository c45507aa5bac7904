//! The machinery shared by append sessions and producers: submissions are queued in call order
//! and handed to the session one at a time (each waits for room), and acknowledgements are
//! delivered in order by a second task. A sink that can take an item without waiting (the
//! producer) also takes it straight from the calling thread when nothing is queued ahead of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use s2_streamstore_core::{Context, ErrorKind, S2Error as CoreError, StreamClient};
use tokio::sync::{mpsc, oneshot};

use crate::callback::{Callback, Done, Once};
use crate::error::{FfiResult, S2Error};
use crate::runtime::runtime;

/// A boxed acknowledgement (an append session's: one per batch, so its box costs little).
pub(crate) type Pending<T> = Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send>>;

/// A boxed future borrowing the sink (awaited before the sink is used again).
pub(crate) type Borrowed<'a, T> = Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send + 'a>>;

/// The value a sink's acknowledgement callback receives.
pub(crate) type AckValue<S> = <<S as Sink>::Ack as Callback>::Value;

/// How acknowledgements that are ready together are delivered: one call each, or, for a callback
/// that asks for it, one call per run of consecutive submissions made with it.
pub(crate) trait Coalesce: Callback<Error = S2Error> {
    /// Folds the successful acknowledgement `acked` of the submission whose callback is `next`
    /// into `run`, the run this callback leads and will deliver; gives `acked` back when it
    /// cannot join (then `next` delivers it).
    fn join(
        &self,
        run: &mut Self::Value,
        next: &Self,
        acked: Self::Value,
    ) -> Result<(), Self::Value> {
        let _ = (run, next);
        Err(acked)
    }
}

/// What the pipeline drives: an append session or a producer.
pub(crate) trait Sink: Send + Sync + 'static {
    /// What one submission carries.
    type Item: Send + 'static;
    /// The acknowledgement's C callback.
    type Ack: Coalesce;
    /// One submission's acknowledgement to come (a named type where there is one per record).
    type Pending: Future<Output = Result<AckValue<Self>, CoreError>> + Send + Unpin + 'static;

    /// Waits for room, submits, and returns the acknowledgement to come.
    fn submit(&self, item: Self::Item) -> Borrowed<'_, Self::Pending>;
    /// Submits if there is room now (never waits), or gives the item back.
    fn try_submit(&self, item: Self::Item) -> Result<Result<Self::Pending, Self::Item>, CoreError> {
        Ok(Err(item))
    }
    /// Sends what is pending without closing (producers); `None` when not supported.
    fn flush(&self) -> Option<Borrowed<'_, ()>>;
    /// Waits for every acknowledgement and closes.
    fn close(&self) -> Borrowed<'_, ()>;
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

/// An acknowledgement to come and the callback waiting for it, or the close waiting for every
/// acknowledgement before it.
enum Awaited<S: Sink> {
    Ack(S::Pending, Option<Once<S::Ack>>),
    Drained(oneshot::Sender<()>),
}

/// What [`Pipeline::try_submit`] did.
pub(crate) enum Tried<T> {
    /// Submitted; its acknowledgement will be delivered in order.
    Submitted,
    /// No room now, or earlier submissions are still queued: the item, untouched.
    Full(T),
}

/// The C-facing side of a pipeline: the queue into its submitter task.
pub(crate) struct Pipeline<S: Sink> {
    jobs: mpsc::UnboundedSender<Job<S>>,
    acks: mpsc::UnboundedSender<Awaited<S>>,
    sink: Arc<S>,
    // Jobs queued and not yet through the submitter (their acknowledgements queued): the
    // direct path runs only when there are none, so it never overtakes them. `order` makes
    // that check and the direct submission one step against other callers.
    queued: Arc<AtomicUsize>,
    order: Mutex<()>,
    closed: Closed,
}

impl<S: Sink> Pipeline<S>
where
    AckValue<S>: Send,
{
    /// Starts the tasks for `sink` on `stream` (a `what`: "append session" or "producer"),
    /// which `open` builds on the runtime (sessions spawn their own tasks when created).
    pub(crate) fn start(
        stream: &StreamClient,
        what: &'static str,
        open: impl FnOnce() -> Result<S, CoreError>,
    ) -> FfiResult<Pipeline<S>> {
        let runtime = runtime()?;
        let sink = Arc::new({
            let _context = runtime.enter();
            open()?
        });
        let closed = Closed {
            stream: stream.clone(),
            what,
        };
        let (jobs, receiver) = mpsc::unbounded_channel();
        let (acks, ack_receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        runtime.spawn(deliver_acks::<S>(ack_receiver));
        runtime.spawn(run(
            Arc::clone(&sink),
            receiver,
            acks.clone(),
            Arc::clone(&queued),
            closed.clone(),
        ));
        Ok(Pipeline {
            jobs,
            acks,
            sink,
            queued,
            order: Mutex::new(()),
            closed,
        })
    }

    /// Queues `job`; after the close it is refused with `CLOSED`.
    fn queue(&self, job: Job<S>) {
        let _order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        self.queued.fetch_add(1, Ordering::AcqRel);
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job) {
            self.queued.fetch_sub(1, Ordering::AcqRel);
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

    /// Submits on the calling thread if nothing is queued and the sink has room now; `ack`
    /// then fires in order like any other. Otherwise the item comes back and `ack` is dropped
    /// without firing (the caller keeps its user data).
    pub(crate) fn try_submit(
        &self,
        item: S::Item,
        ack: Option<Once<S::Ack>>,
    ) -> FfiResult<Tried<S::Item>> {
        let _order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        let refused = if self.jobs.is_closed() {
            Err(self.closed.error("append"))
        } else if self.queued.load(Ordering::Acquire) > 0 {
            Ok(Tried::Full(item))
        } else {
            match self.sink.try_submit(item) {
                Ok(Ok(pending)) => {
                    if let Err(mpsc::error::SendError(Awaited::Ack(_, Some(ack)))) =
                        self.acks.send(Awaited::Ack(pending, ack))
                    {
                        ack.finish(Err(self.closed.error("append")));
                    }
                    return Ok(Tried::Submitted);
                }
                Ok(Err(item)) => Ok(Tried::Full(item)),
                Err(error) => Err(error.into()),
            }
        };
        if let Some(ack) = ack {
            ack.disarm();
        }
        refused
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
    AckValue<S>: Send,
{
    match pipeline {
        Ok(pipeline) => queue(pipeline, done),
        Err(error) => done.finish(Err(error)),
    }
}

async fn run<S: Sink>(
    sink: Arc<S>,
    mut jobs: mpsc::UnboundedReceiver<Job<S>>,
    acks: mpsc::UnboundedSender<Awaited<S>>,
    queued: Arc<AtomicUsize>,
    closed: Closed,
) where
    AckValue<S>: Send,
{
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Submit {
                item,
                accepted,
                ack,
            } => match submit(&*sink, item).await {
                Ok(pending) => {
                    if let Some(accepted) = accepted {
                        accepted.finish(Ok(()));
                    }
                    let _ = acks.send(Awaited::Ack(pending, ack));
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
                // Every acknowledgement is delivered before the close reports.
                let (drained_tx, drained) = oneshot::channel();
                if acks.send(Awaited::Drained(drained_tx)).is_ok() {
                    let _ = drained.await;
                }
                // Closed before the close reports, so that a try right after it sees `CLOSED`;
                // jobs queued behind the close, and later ones (their send fails), are refused.
                jobs.close();
                done.finish(result.map_err(Into::into));
                queued.fetch_sub(1, Ordering::AcqRel);
                while let Some(job) = jobs.recv().await {
                    queued.fetch_sub(1, Ordering::AcqRel);
                    job.refuse(&closed);
                }
                return;
            }
        }
        queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Submits a queued item: at once when the sink has room (no boxed wait: when room opens, the
/// whole queue usually goes through here), else once it has.
async fn submit<S: Sink>(sink: &S, item: S::Item) -> Result<S::Pending, CoreError> {
    match sink.try_submit(item)? {
        Ok(pending) => Ok(pending),
        Err(item) => sink.submit(item).await,
    }
}

/// Delivers acknowledgements in submission order. Those ready together are joined into runs
/// where their callbacks allow it ([`Coalesce`]); a run is delivered before anything is awaited,
/// so joining never delays an acknowledgement.
async fn deliver_acks<S: Sink>(mut acks: mpsc::UnboundedReceiver<Awaited<S>>)
where
    AckValue<S>: Send,
{
    let mut run: Option<Run<S::Ack>> = None;
    loop {
        let awaited = match acks.try_recv() {
            Ok(awaited) => awaited,
            Err(mpsc::error::TryRecvError::Empty) => {
                deliver_run(&mut run);
                match acks.recv().await {
                    Some(awaited) => awaited,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        match awaited {
            Awaited::Ack(mut pending, ack) => {
                let ready = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut pending).poll(cx)));
                let result = match ready.await {
                    Poll::Ready(result) => result,
                    Poll::Pending => {
                        deliver_run(&mut run);
                        pending.await
                    }
                };
                let Some(ack) = ack else { continue };
                match result {
                    Ok(acked) => extend_run(&mut run, ack, acked),
                    Err(error) => {
                        deliver_run(&mut run);
                        ack.finish(Err(error.into()));
                    }
                }
            }
            Awaited::Drained(drained) => {
                deliver_run(&mut run);
                let _ = drained.send(());
            }
        }
    }
    deliver_run(&mut run);
}

/// Acknowledgements joined for one delivery: the callback that delivers them and what it delivers.
type Run<A> = (Once<A>, <A as Callback>::Value);

/// Joins `acked` (for `ack`) to the run, or delivers the run and starts a new one with it.
fn extend_run<A: Coalesce>(run: &mut Option<Run<A>>, ack: Once<A>, acked: A::Value) {
    let acked = match run {
        Some((head, joined)) => match (head.callback(), ack.callback()) {
            (Some(head), Some(next)) => match head.join(joined, next, acked) {
                Ok(()) => {
                    // Delivered by the run's callback.
                    ack.disarm();
                    return;
                }
                Err(acked) => acked,
            },
            _ => acked,
        },
        None => acked,
    };
    deliver_run(run);
    *run = Some((ack, acked));
}

fn deliver_run<A: Coalesce>(run: &mut Option<Run<A>>) {
    if let Some((ack, acked)) = run.take() {
        ack.finish(Ok(acked));
    }
}
