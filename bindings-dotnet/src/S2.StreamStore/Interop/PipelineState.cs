using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// The shared state of one append session or producer: the room semaphore (submissions waiting for
/// the native side's room are bounded), counts of submissions and acknowledgements, the first
/// failure, and flush waiters. Its <see cref="GCHandle"/> is the <c>user_data</c> of the
/// allocation-free submissions (one per session, never per record); it is freed once the owner
/// has released it and every callback that references it has fired.
/// </summary>
internal sealed class PipelineState
{
    private readonly object _lock = new();
    private readonly List<(long Target, TaskCompletionSource<bool> Done)> _waiters = new();
    private GCHandle _self;
    private long _refs = 1;
    private long _submitted;
    private long _completed;
    private Exception? _firstError;

    internal PipelineState(int maxQueued, bool perRecordAcks, Action<Exception> onFailure)
    {
        PerRecordAcks = perRecordAcks;
        Room = new RoomSlots(maxQueued);
        OnFailure = onFailure;
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
        Interlocked.Increment(ref _submitted);
        Interlocked.Add(ref _refs, callbacks);
    }

    /// <summary>
    /// Holds a reference for a callback of a submission that may not be taken (the direct path):
    /// <see cref="Counted"/> once it was taken, <see cref="Release"/> if not. Nothing here locks, so a
    /// refused try costs no contention with the callbacks.
    /// </summary>
    internal void Reserve(int callbacks) => Interlocked.Add(ref _refs, callbacks);

    /// <summary>Counts a submission the native side took (its callbacks were reserved, if any).</summary>
    internal void Counted() => Interlocked.Increment(ref _submitted);

    /// <summary>A submission that was counted but could not be made (its callbacks never fire).</summary>
    internal void SubmitFailed(int callbacks, bool releaseRoom)
    {
        if (releaseRoom)
        {
            Room.Release();
        }
        Completed(null);
        for (var i = 0; i < callbacks; i++)
        {
            Release();
        }
    }

    /// <summary>A submission was accepted (or refused): its room slot is free.</summary>
    internal void Accepted() => Room.Release();

    /// <summary>A submission was acknowledged or failed.</summary>
    internal void Completed(Exception? error)
    {
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _firstError, error, null);
            OnFailure(error);
        }
        var completed = Interlocked.Increment(ref _completed);
        lock (_lock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (completed >= _waiters[i].Target)
                {
                    _waiters[i].Done.TrySetResult(true);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Completes once every submission made so far is acknowledged or failed.</summary>
    internal Task AllCompleted(CancellationToken token)
    {
        var target = Interlocked.Read(ref _submitted);
        lock (_lock)
        {
            if (Interlocked.Read(ref _completed) >= target)
            {
                return Task.CompletedTask;
            }
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            return done.Task.WaitAsync(token);
        }
    }

    /// <summary>Drops one reference (the owner's, or a fired callback's); the last frees the GCHandle.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0 && _self.IsAllocated)
        {
            _self.Free();
        }
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
