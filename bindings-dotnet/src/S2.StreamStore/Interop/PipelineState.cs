using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// The shared state of one append session or producer: the room slots (submissions waiting for
/// the native side's room are bounded), counts of submissions and acknowledgements, the first
/// failure, and flush waiters. Its <see cref="GCHandle"/> is the <c>user_data</c> of the
/// allocation-free submissions (one per session, never per record); it is freed once the owner
/// has released it and every callback that references it has fired.
/// </summary>
/// <remarks>
/// The per-record counters are single-writer in the common case and live on separate cache lines:
/// what submitting threads write (<see cref="Counters.Submitted"/>, <see cref="Counters.Reserved"/>)
/// apart from what the callback threads write (<see cref="Counters.Completed"/>,
/// <see cref="Counters.Fired"/>), so a record costs no cache-line transfer between the producer's
/// thread and the native thread acknowledging it. The callbacks read the other side only once
/// the owner released the state (to free the handle) or a flush waits.
/// </remarks>
internal sealed class PipelineState
{
    private readonly object _lock = new();
    private readonly List<(long Target, TaskCompletionSource<bool> Done)> _waiters = new();
    private Counters _counters;
    private GCHandle _self;
    private int _ownerReleased;
    private int _freed;
    private int _waiterCount;
    private Exception? _firstError;

    internal PipelineState(int maxQueued, bool perRecordAcks, Action<Exception> onFailure)
    {
        PerRecordAcks = perRecordAcks;
        Room = new RoomSlots(maxQueued);
        OnFailure = onFailure;
        _counters.Reserved = 1; // the owner's reference
        _self = GCHandle.Alloc(this);
    }

    /// <summary>Whether each acknowledgement is one record (producers) rather than one batch (sessions).</summary>
    internal bool PerRecordAcks { get; }

    /// <summary>The records an acknowledgement stands for.</summary>
    internal long RecordsPerAck(AppendAck ack) => PerRecordAcks ? 1 : (long)ack.Count;

    /// <summary>Slots for submissions not yet accepted by the native side.</summary>
    internal RoomSlots Room { get; }

    /// <summary>Reports a failure (logs, metrics) once per failed submission.</summary>
    internal Action<Exception> OnFailure { get; }

    /// <summary>The <c>user_data</c> of shared submissions.</summary>
    internal nint UserData => GCHandle.ToIntPtr(_self);

    /// <summary>The first failure of any submission, if any.</summary>
    internal Exception? FirstError => Volatile.Read(ref _firstError);

    /// <summary>Counts a submission about to be made; <paramref name="callbacks"/> of them reference this state through its GCHandle.</summary>
    internal void Submitting(int callbacks)
    {
        Interlocked.Increment(ref _counters.Submitted);
        if (callbacks != 0)
        {
            Interlocked.Add(ref _counters.Reserved, callbacks);
        }
    }

    /// <summary>
    /// Holds a reference for a callback of a submission that may not be taken (the direct path):
    /// <see cref="Counted"/> once it was taken, <see cref="Unreserve"/> if not. Nothing here locks
    /// or touches what the callbacks write.
    /// </summary>
    internal void Reserve(int callbacks) => Interlocked.Add(ref _counters.Reserved, callbacks);

    /// <summary>Drops references <see cref="Reserve"/>d for callbacks that will not fire (the submission was not taken).</summary>
    internal void Unreserve(int callbacks)
    {
        Interlocked.Add(ref _counters.Reserved, -callbacks);
        if (Volatile.Read(ref _ownerReleased) != 0)
        {
            TryFree();
        }
    }

    /// <summary>Counts a submission the native side took (its callbacks were reserved, if any).</summary>
    internal void Counted() => Interlocked.Increment(ref _counters.Submitted);

    /// <summary>A submission that was counted but could not be made (its callbacks never fire).</summary>
    internal void SubmitFailed(int callbacks, bool releaseRoom)
    {
        if (releaseRoom)
        {
            Room.Release();
        }
        Completed(null);
        if (callbacks != 0)
        {
            Unreserve(callbacks);
        }
    }

    /// <summary>A submission was accepted (or refused): its room slot is free.</summary>
    internal void Accepted() => Room.Release();

    /// <summary>A submission was acknowledged or failed, or <paramref name="count"/> of them (a producer's run of records acknowledged together).</summary>
    internal void Completed(Exception? error, long count = 1)
    {
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _firstError, error, null);
            OnFailure(error);
        }
        var completed = Interlocked.Add(ref _counters.Completed, count);
        if (Volatile.Read(ref _waiterCount) == 0)
        {
            return;
        }
        lock (_lock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (completed >= _waiters[i].Target)
                {
                    _waiters[i].Done.TrySetResult(true);
                    _waiters.RemoveAt(i);
                    Interlocked.Decrement(ref _waiterCount);
                }
            }
        }
    }

    /// <summary>Completes once every submission made so far is acknowledged or failed.</summary>
    internal Task AllCompleted(CancellationToken token)
    {
        var target = Interlocked.Read(ref _counters.Submitted);
        lock (_lock)
        {
            if (Interlocked.Read(ref _counters.Completed) >= target)
            {
                return Task.CompletedTask;
            }
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            // Counted before the second look, so a completion in between either sees the waiter or is seen here.
            Interlocked.Increment(ref _waiterCount);
            if (Interlocked.Read(ref _counters.Completed) >= target)
            {
                _waiters.RemoveAt(_waiters.Count - 1);
                Interlocked.Decrement(ref _waiterCount);
                return Task.CompletedTask;
            }
            return done.Task.WaitAsync(token);
        }
    }

    /// <summary>A callback that referenced this state fired (its last use of it), or one that stood for <paramref name="count"/> of them.</summary>
    internal void Release(long count = 1)
    {
        Interlocked.Add(ref _counters.Fired, count);
        if (Volatile.Read(ref _ownerReleased) != 0)
        {
            TryFree();
        }
    }

    /// <summary>The owner is done with the state; the GCHandle is freed once every reserved callback has fired.</summary>
    internal void ReleaseOwner()
    {
        if (Interlocked.Exchange(ref _ownerReleased, 1) == 0)
        {
            Release();
        }
    }

    private void TryFree()
    {
        if (Interlocked.Read(ref _counters.Reserved) == Interlocked.Read(ref _counters.Fired) && Interlocked.CompareExchange(ref _freed, 1, 0) == 0)
        {
            _self.Free();
        }
    }

    /// <summary>The counters, the submitters' apart from the callbacks' (two cache lines apart, whatever the alignment).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Counters
    {
        /// <summary>Submissions counted (written by submitting threads).</summary>
        [FieldOffset(64)]
        public long Submitted;

        /// <summary>Callback references taken, plus the owner's (written by submitting threads).</summary>
        [FieldOffset(72)]
        public long Reserved;

        /// <summary>Submissions acknowledged or failed (written by callback threads).</summary>
        [FieldOffset(192)]
        public long Completed;

        /// <summary>Callback references dropped, plus the owner's once released (written by callback threads).</summary>
        [FieldOffset(200)]
        public long Fired;
    }
}

/// <summary>One tracked submission (<c>AppendAsync</c>): its accepted and acknowledged tasks and its own GCHandle, freed after both callbacks fired.</summary>
internal sealed class PendingSubmission
{
    private readonly TaskCompletionSource<bool> _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AppendAck> _acked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GCHandle _self;
    private int _callbacksLeft = 2;

    internal PendingSubmission(PipelineState state)
    {
        State = state;
        _self = GCHandle.Alloc(this);
    }

    internal PipelineState State { get; }

    internal nint UserData => GCHandle.ToIntPtr(_self);

    internal Task Accepted => _accepted.Task;

    internal Task<AppendAck> Acknowledged => _acked.Task;

    /// <summary>The first record's sequence number (the producer's record), once acknowledged.</summary>
    internal ulong? SequenceNumber { get; private set; }

    internal void OnAccepted(Exception? error)
    {
        State.Accepted();
        if (error is null)
        {
            _accepted.TrySetResult(true);
        }
        else
        {
            _accepted.TrySetException(error);
        }
        Fired();
    }

    /// <summary>Taken by the direct path: accepted at once, no slot to free, no accepted callback to come.</summary>
    internal void AcceptedWithoutSlot()
    {
        _accepted.TrySetResult(true);
        Fired();
    }

    internal void OnAcked(ulong sequenceNumber, AppendAck? ack, Exception? error)
    {
        if (ack is not null)
        {
            SequenceNumber = sequenceNumber;
            Diagnostics.Telemetry.AppendedRecords.Add(State.RecordsPerAck(ack));
            _acked.TrySetResult(ack);
        }
        else
        {
            _acked.TrySetException(error ?? new S2Exception("The acknowledgement carried neither a result nor an error."));
            // Observed here: the failure also surfaces from FlushAsync/CloseAsync and the logger, so a
            // receipt nobody awaits does not raise TaskScheduler.UnobservedTaskException.
            _ = _acked.Task.Exception;
        }
        State.Completed(error);
        Fired();
    }

    /// <summary>The submission could not be made: both tasks fail now.</summary>
    internal void StartFailed(Exception error)
    {
        _accepted.TrySetException(error);
        _acked.TrySetException(error);
        _ = _acked.Task.Exception; // observed: the caller sees it through Accepted
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }

    private void Fired()
    {
        if (Interlocked.Decrement(ref _callbacksLeft) == 0 && _self.IsAllocated)
        {
            _self.Free();
        }
    }
}
