using System.Threading.Tasks.Sources;

namespace S2.StreamStore.Interop;

/// <summary>
/// One native append session or producer: submissions (allocation-free shared ones and tracked
/// ones), flush and close. Submissions take a slot of <see cref="PipelineState.Room"/> until the
/// native side accepts them, so memory stays bounded by the native limits plus the queued slots.
/// </summary>
internal sealed class NativePipeline : IDisposable
{
    private readonly NativeHandle _handle;
    private readonly bool _producer;
    private readonly string _publicName;
    private static SpanSubmitWait? s_cachedWait;
    private int _disposed;

    internal NativePipeline(NativeHandle handle, bool producer, int maxQueued, Action<Exception> onFailure)
    {
        _handle = handle;
        _producer = producer;
        _publicName = producer ? nameof(Producer) : nameof(AppendSession);
        State = new PipelineState(maxQueued, producer, onFailure);
    }

    internal PipelineState State { get; }

    /// <summary>Submits a one-record batch without allocating, if a slot is free now.</summary>
    internal bool TrySubmit(ReadOnlySpan<byte> body)
    {
        CheckBody(body.Length);
        if (TryDirect(body))
        {
            return true;
        }
        if (!State.Room.TryTake())
        {
            return false;
        }
        SubmitShared(body);
        return true;
    }

    /// <summary>Waits for a slot, then submits; allocation-free, also when it waits (its wait is reused).</summary>
    internal ValueTask SubmitAsync(ReadOnlyMemory<byte> body, CancellationToken token)
    {
        CheckBody(body.Length);
        if (TryDirect(body.Span) || State.Room.TryTake() && SubmitSharedTrue(body.Span))
        {
            return default;
        }
        if (token.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(token);
        }
        var wait = Interlocked.Exchange(ref s_cachedWait, null) ?? new SpanSubmitWait();
        var version = wait.Arm(this, body);
        State.Room.Enqueue(wait, token);
        return new ValueTask(wait, version);
    }

    private bool SubmitSharedTrue(ReadOnlySpan<byte> body)
    {
        SubmitShared(body);
        return true;
    }

    /// <summary>
    /// A producer's direct path (<c>s2_producer_try_submit</c>): the record is taken on this thread
    /// when the native producer has room and nothing is queued ahead of it, with no accepted callback
    /// and no slot; false when it has no room now (nothing was taken).
    /// </summary>
    private unsafe bool TryDirect(ReadOnlySpan<byte> body)
    {
        if (!_producer)
        {
            return false;
        }
        var added = false;
        // The ack callback's reference is held before the call (it may fire at once); the
        // submission is counted only once taken, so a refused try touches no lock.
        State.Reserve(1);
        int result;
        S2NativeError* error = null;
        try
        {
            _handle.DangerousAddRef(ref added);
            fixed (byte* b = body)
            {
                var record = new S2NewRecordNative { Body = b, BodyLen = (nuint)body.Length };
                result = NativeMethods.s2_producer_try_submit_counted((S2NativeProducer*)_handle.DangerousGetHandle(), &record, PipelineCallbacks.SharedCountedAck, (void*)State.UserData, &error);
            }
        }
        catch (ObjectDisposedException)
        {
            State.Unreserve(1);
            throw new ObjectDisposedException(_publicName);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
        if (result == 0)
        {
            State.Counted();
            return true;
        }
        // Not taken: its callback never fires.
        State.Unreserve(1);
        if (result < 0)
        {
            throw NativeErrors.Take(error, CancellationToken.None);
        }
        return false;
    }

    /// <summary>Submits with a slot taken for it: the direct path first (the slot is then given back), else queued.</summary>
    private void SubmitWithSlot(ReadOnlySpan<byte> body)
    {
        bool direct;
        try
        {
            direct = TryDirect(body);
        }
        catch
        {
            State.Room.Release();
            throw;
        }
        if (direct)
        {
            State.Room.Release();
            return;
        }
        SubmitShared(body);
    }

    /// <summary>
    /// The wait of a span <c>SubmitAsync</c> that found no slot, reused by every pipeline (allocation-free): once it
    /// has a slot, a thread-pool work item submits the body and completes the caller's
    /// <see cref="ValueTask"/> there (never on the native thread that freed the slot).
    /// </summary>
    private sealed class SpanSubmitWait : RoomSlots.RoomWaiter, IThreadPoolWorkItem
    {
        private NativePipeline? _pipeline;
        private ReadOnlyMemory<byte> _body;
        private CancellationToken _cancelledBy;
        private bool _cancelled;

        internal short Arm(NativePipeline pipeline, ReadOnlyMemory<byte> body)
        {
            _pipeline = pipeline;
            _body = body;
            _cancelled = false;
            _cancelledBy = default;
            _core.Reset();
            return _core.Version;
        }

        internal override void Served() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

        internal override void Cancelled(CancellationToken token)
        {
            _cancelled = true;
            _cancelledBy = token;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        /// <summary>On the thread pool: submit (or report the cancellation) and run the caller's continuation here.</summary>
        public void Execute()
        {
            if (_cancelled)
            {
                _core.SetException(new OperationCanceledException(_cancelledBy));
                return;
            }
            try
            {
                _pipeline!.SubmitWithSlot(_body.Span);
            }
            catch (Exception e)
            {
                _core.SetException(e);
                return;
            }
            _core.SetResult(true);
        }

        // Completed on the thread pool already (Execute): the caller's continuation runs inline there.
        public SpanSubmitWait()
            : base(runContinuationsAsynchronously: false)
        {
        }

        private protected override void Recycle()
        {
            _body = default;
            _pipeline = null;
            Volatile.Write(ref s_cachedWait, this);
        }
    }

    private unsafe void SubmitShared(ReadOnlySpan<byte> body)
    {
        var added = false;
        State.Submitting(2);
        try
        {
            _handle.DangerousAddRef(ref added);
            fixed (byte* b = body)
            {
                var record = new S2NewRecordNative { Body = b, BodyLen = (nuint)body.Length };
                if (_producer)
                {
                    NativeMethods.s2_producer_submit_counted((S2NativeProducer*)_handle.DangerousGetHandle(), &record, PipelineCallbacks.SharedAccepted, PipelineCallbacks.SharedCountedAck, (void*)State.UserData);
                }
                else
                {
                    NativeMethods.s2_append_session_submit((S2NativeAppendSession*)_handle.DangerousGetHandle(), &record, 1, null, PipelineCallbacks.SharedAccepted, PipelineCallbacks.SharedSessionAck, (void*)State.UserData);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            State.SubmitFailed(2, releaseRoom: true);
            throw new ObjectDisposedException(_publicName);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Waits for a slot and submits a tracked batch (a producer: exactly one record).</summary>
    internal async ValueTask<PendingSubmission> SubmitTrackedAsync(IReadOnlyList<AppendRecord> records, AppendOptions? options, CancellationToken token)
    {
        var pending = new PendingSubmission(State);
        if (TryDirectTracked(pending, records, options))
        {
            return pending;
        }
        await State.Room.WaitAsync(token).ConfigureAwait(false);
        SubmitTracked(pending, records, options);
        return pending;
    }

    /// <summary>
    /// A producer's direct path for a tracked record (<c>s2_producer_try_submit</c>): taken on this
    /// thread, accepted at once (no accepted callback, no slot, no wait for another thread); false,
    /// with <paramref name="pending"/> untouched, when the producer has no room now.
    /// </summary>
    private unsafe bool TryDirectTracked(PendingSubmission pending, IReadOnlyList<AppendRecord> records, AppendOptions? options)
    {
        if (!_producer || records.Count != 1)
        {
            return false;
        }
        var added = false;
        int result;
        S2NativeError* error = null;
        try
        {
            using var pinned = new PinnedRecords(records, options);
            _handle.DangerousAddRef(ref added);
            result = NativeMethods.s2_producer_try_submit((S2NativeProducer*)_handle.DangerousGetHandle(), pinned.Records, PipelineCallbacks.TrackedRecordAck, (void*)pending.UserData, &error);
        }
        catch (Exception e)
        {
            var failure = e is ObjectDisposedException ? new ObjectDisposedException(_publicName) : e;
            pending.StartFailed(failure);
            throw failure;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
        if (result == 0)
        {
            // Counted once taken (its callbacks hold its own handle, not the state's).
            State.Counted();
            pending.AcceptedWithoutSlot();
            return true;
        }
        // Not taken: its callback never fires; the queued path counts it.
        if (result < 0)
        {
            var failure = NativeErrors.Take(error, CancellationToken.None);
            pending.StartFailed(failure);
            throw failure;
        }
        return false;
    }

    private unsafe void SubmitTracked(PendingSubmission pending, IReadOnlyList<AppendRecord> records, AppendOptions? options)
    {
        State.Submitting(0);
        var added = false;
        try
        {
            using var pinned = new PinnedRecords(records, options);
            _handle.DangerousAddRef(ref added);
            if (_producer)
            {
                NativeMethods.s2_producer_submit((S2NativeProducer*)_handle.DangerousGetHandle(), pinned.Records, PipelineCallbacks.TrackedAccepted, PipelineCallbacks.TrackedRecordAck, (void*)pending.UserData);
            }
            else
            {
                var conditions = pinned.Conditions;
                NativeMethods.s2_append_session_submit((S2NativeAppendSession*)_handle.DangerousGetHandle(), pinned.Records, pinned.Count, pinned.HasConditions ? &conditions : null, PipelineCallbacks.TrackedAccepted, PipelineCallbacks.TrackedSessionAck, (void*)pending.UserData);
            }
        }
        catch (Exception e)
        {
            var error = e is ObjectDisposedException ? new ObjectDisposedException(_publicName) : e;
            State.SubmitFailed(0, releaseRoom: true);
            pending.StartFailed(error);
            throw error;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Producer: sends the open batch; then waits for every acknowledgement so far.</summary>
    internal async Task Flush(CancellationToken token)
    {
        if (_producer)
        {
            await StartFlush().WaitAsync(token).ConfigureAwait(false);
        }
        await State.AllCompleted(token).ConfigureAwait(false);
        ThrowFirstError();
    }

    /// <summary>Flushes, waits for every acknowledgement and closes the native object.</summary>
    internal async Task Close(CancellationToken token)
    {
        await StartClose().WaitAsync(token).ConfigureAwait(false);
        await State.AllCompleted(token).ConfigureAwait(false);
        ThrowFirstError();
    }

    private unsafe Task<bool> StartFlush() =>
        NativeCall<bool>.Start(_handle, _publicName, CancellationToken.None, 0, static (_, target, _, userData) =>
            NativeMethods.s2_producer_flush((S2NativeProducer*)target, NativeCallbacks.Done, (void*)userData));

    private unsafe Task<bool> StartClose() =>
        NativeCall<bool>.Start(_handle, _publicName, CancellationToken.None, _producer, static (producer, target, _, userData) =>
        {
            if (producer)
            {
                NativeMethods.s2_producer_close((S2NativeProducer*)target, NativeCallbacks.Done, (void*)userData);
            }
            else
            {
                NativeMethods.s2_append_session_close((S2NativeAppendSession*)target, NativeCallbacks.Done, (void*)userData);
            }
        });

    private void ThrowFirstError()
    {
        if (State.FirstError is { } error)
        {
            // The first failure itself (its type and values: a SeqNumMismatchException keeps ExpectedSeqNum).
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        State.ReleaseOwner();
    }

    /// <summary>The public types' <c>DisposeAsync</c>: closes once (failures were reported to the logger and the meter as they happened) and frees.</summary>
    internal async ValueTask CloseAndDisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await Close(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is S2Exception or ObjectDisposedException)
        {
            // Reported to the logger and the meter as it happened.
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>The one-record body limit of the span submits (S2 meters 8 bytes per record).</summary>
    private static void CheckBody(int length)
    {
        if (length + 8 > Validation.MaxBatchBytes)
        {
            throw new ArgumentException($"A record has at most {Validation.MaxBatchBytes - 8} body bytes; {length} given.", "body");
        }
    }
}
