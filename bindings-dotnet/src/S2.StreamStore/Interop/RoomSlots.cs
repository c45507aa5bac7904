using System.Threading.Tasks.Sources;

namespace S2.StreamStore.Interop;

/// <summary>
/// The slots of a pipeline's submissions waiting for native room: a counter taken and given back
/// without locks, and waiters that allocate nothing in the common case (they are reused). A
/// submitter that found every slot taken is woken once the queue has drained completely, not at
/// each freed slot: one wake-up per drained queue instead of one per record, and the producer's
/// direct path (which needs an empty native queue) is open again when it resumes. While anyone
/// waits, <see cref="TryTake"/> takes nothing, so waiters are never starved; they are served
/// oldest first, and never run on the releasing (native) thread.
/// </summary>
internal sealed class RoomSlots
{
    private static SlotWaiter? s_cachedSlotWaiter;
    private readonly object _lock = new();
    private readonly int _slots;
    private int _free;
    private int _waiting;
    private RoomWaiter? _head;
    private RoomWaiter? _tail;

    internal RoomSlots(int slots)
    {
        _slots = slots;
        _free = slots;
    }

    /// <summary>Takes a slot if one is free now and nobody waits for one (waiters go first).</summary>
    internal bool TryTake() => Volatile.Read(ref _waiting) == 0 && Take();

    private bool Take()
    {
        var free = Volatile.Read(ref _free);
        while (free > 0)
        {
            var seen = Interlocked.CompareExchange(ref _free, free - 1, free);
            if (seen == free)
            {
                return true;
            }
            free = seen;
        }
        return false;
    }

    /// <summary>Gives a slot back (once all are free, to the waiters).</summary>
    internal void Release()
    {
        if (Interlocked.Increment(ref _free) >= _slots && Volatile.Read(ref _waiting) > 0)
        {
            Serve();
        }
    }

    /// <summary>Completes when a slot was taken for the caller; cancelled by <paramref name="token"/> (no slot is then taken).</summary>
    internal ValueTask WaitAsync(CancellationToken token)
    {
        if (TryTake())
        {
            return default;
        }
        if (token.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(token);
        }
        var waiter = Interlocked.Exchange(ref s_cachedSlotWaiter, null) ?? new SlotWaiter();
        var version = waiter.Arm();
        Enqueue(waiter, token);
        return new ValueTask(waiter, version);
    }

    /// <summary>Queues <paramref name="waiter"/>: <see cref="RoomWaiter.Served"/> runs once it has a slot, or <see cref="RoomWaiter.Cancelled"/> (without one).</summary>
    internal void Enqueue(RoomWaiter waiter, CancellationToken token)
    {
        lock (_lock)
        {
            waiter.Previous = _tail;
            waiter.Next = null;
            if (_tail is null)
            {
                _head = waiter;
            }
            else
            {
                _tail.Next = waiter;
            }
            _tail = waiter;
            waiter.Owner = this;
            waiter.Queued = true;
            _waiting++;
            // Registered under the lock, before anyone can serve the waiter (a token cancelled
            // meanwhile runs Cancel here, which takes the lock again on this thread).
            waiter.Registration = token.CanBeCanceled
                ? token.UnsafeRegister(static (state, t) => ((RoomWaiter)state!).Cancel(t), waiter)
                : default;
        }
        // A slot released before the enqueue is not missed.
        Serve();
    }

    /// <summary>Once every slot is free, hands slots to the queued waiters, oldest first.</summary>
    private void Serve()
    {
        var first = true;
        while (true)
        {
            RoomWaiter? served;
            lock (_lock)
            {
                if (_head is null || (first && Volatile.Read(ref _free) < _slots) || !Take())
                {
                    return;
                }
                served = _head;
                Unlink(served);
            }
            first = false;
            served.Served();
        }
    }

    private void Unlink(RoomWaiter waiter)
    {
        if (waiter.Previous is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Previous.Next = waiter.Next;
        }
        if (waiter.Next is null)
        {
            _tail = waiter.Previous;
        }
        else
        {
            waiter.Next.Previous = waiter.Previous;
        }
        waiter.Previous = null;
        waiter.Next = null;
        waiter.Queued = false;
        _waiting--;
    }

    /// <summary>A cancelled waiter leaves the queue without a slot (false if it was served first).</summary>
    private bool Remove(RoomWaiter waiter)
    {
        lock (_lock)
        {
            if (!waiter.Queued)
            {
                return false;
            }
            Unlink(waiter);
            return true;
        }
    }

    /// <summary>
    /// One queued wait for a slot, and the reusable value-task source its caller awaits: a waiter
    /// object serves one wait at a time and goes back to its cache (<see cref="Recycle"/>) when the
    /// caller has taken the result.
    /// </summary>
    internal abstract class RoomWaiter : IValueTaskSource
    {
        private protected ManualResetValueTaskSourceCore<bool> _core;

        private protected RoomWaiter(bool runContinuationsAsynchronously)
        {
            _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;
        }

        internal RoomWaiter? Previous { get; set; }

        internal RoomWaiter? Next { get; set; }

        internal RoomSlots? Owner { get; set; }

        internal bool Queued { get; set; }

        internal CancellationTokenRegistration Registration { get; set; }

        /// <summary>It has a slot (called on a native thread or under no lock: must not run user code inline).</summary>
        internal abstract void Served();

        /// <summary>Its token was cancelled before it had a slot (may run under the queue's lock: must not run user code inline).</summary>
        internal abstract void Cancelled(CancellationToken token);

        /// <summary>Drops the token registration (after completion, never from inside the token's callback).</summary>
        internal void Unregister()
        {
            Registration.Dispose();
            Registration = default;
        }

        internal void Cancel(CancellationToken token)
        {
            if (Owner!.Remove(this))
            {
                Cancelled(token);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        public void GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                Unregister();
                Owner = null;
                Recycle();
            }
        }

        /// <summary>Clears what the wait held and returns the waiter to its cache (the caller is done with it).</summary>
        private protected abstract void Recycle();
    }

    /// <summary>The wait of <see cref="WaitAsync"/>: a reusable value-task source whose continuation runs on the thread pool.</summary>
    private sealed class SlotWaiter : RoomWaiter
    {
        public SlotWaiter()
            : base(runContinuationsAsynchronously: true)
        {
        }

        internal short Arm()
        {
            _core.Reset();
            return _core.Version;
        }

        internal override void Served() => _core.SetResult(true);

        internal override void Cancelled(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

        private protected override void Recycle() => Volatile.Write(ref s_cachedSlotWaiter, this);
    }
}
