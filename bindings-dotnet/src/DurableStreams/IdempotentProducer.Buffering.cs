using System.Buffers;
using System.Text;
using DurableStreams.Interop;

namespace DurableStreams;

// IdempotentProducer: accepting messages: the native buffer first, then (when it is full) the ordered overflow queue and its pump.
public partial class IdempotentProducer
{
    // Overflow: messages that found the native buffer full, in order, drained by one pump.
    private readonly object _overflowLock = new();
    private readonly Queue<byte[]> _overflow = new();
    private int _overflowCount;
    private bool _pumpRunning;
    private TaskCompletionSource? _drained;

    /// <summary>Encodes <paramref name="data"/> as UTF-8 on the stack (or a pooled array when long) and appends it without allocating.</summary>
    private bool AppendText(string data, bool tryOnly)
    {
        ArgumentNullException.ThrowIfNull(data);
        byte[]? rented = null;
        var max = Encoding.UTF8.GetMaxByteCount(data.Length);
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var text = buffer[..Encoding.UTF8.GetBytes(data, buffer)];
            if (tryOnly)
            {
                return TryAppendSpan(text, nameof(data));
            }
            AppendSpan(text, nameof(data));
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void AppendSpan(ReadOnlySpan<byte> data, string paramName)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", paramName);
        }
        ThrowIfUnusable();
        if (Volatile.Read(ref _overflowCount) != 0)
        {
            // Earlier messages are waiting for room: queue behind them to keep the order.
            Enqueue(data.ToArray());
            CountAccepted(data.Length);
            return;
        }
        var result = Native.TryAppend(data, out var error);
        if (result == TryAppendResult.Full)
        {
            Enqueue(data.ToArray());
            CountAccepted(data.Length);
        }
        else if (result == TryAppendResult.Failed)
        {
            RejectAppend(error!);
        }
        else
        {
            CountAccepted(data.Length);
        }
    }

    private bool TryAppendSpan(ReadOnlySpan<byte> data, string paramName)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", paramName);
        }
        ThrowIfUnusable();
        if (Volatile.Read(ref _overflowCount) != 0)
        {
            return false;
        }
        var result = Native.TryAppend(data, out var error);
        if (result == TryAppendResult.Failed)
        {
            RejectAppend(error!);
            return false;
        }
        if (result == TryAppendResult.Accepted)
        {
            CountAccepted(data.Length);
            return true;
        }
        return false;
    }

    /// <summary>
    /// A synchronous append was refused: always thrown. A failed producer throws its failure,
    /// which the background delivery already reported once to <see cref="OnError"/>: an event per
    /// refused message would bury it (thousands of events for one fencing).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void RejectAppend(Exception error)
    {
        switch (error)
        {
            case DurableStreamException { Code: DurableStreamErrorCode.ProducerClosed } closed:
                ThrowIfDisposed();
                throw closed;
            case DurableStreamException { Code: DurableStreamErrorCode.InvalidArgument } invalid:
                throw new ArgumentException(invalid.Message, "data", invalid);
            default:
                throw error;
        }
    }

    private void Enqueue(byte[] message)
    {
        var start = false;
        lock (_overflowLock)
        {
            _overflow.Enqueue(message);
            Volatile.Write(ref _overflowCount, _overflow.Count);
            if (!_pumpRunning)
            {
                _pumpRunning = true;
                _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                start = true;
            }
        }
        if (start)
        {
            _ = PumpAsync();
        }
    }

    /// <summary>Drains the overflow queue in order, awaiting room in the native buffer for each message.</summary>
    private async Task PumpAsync()
    {
        await Task.Yield(); // never run the pump on the appending thread
        while (true)
        {
            byte[] message;
            lock (_overflowLock)
            {
                if (_overflow.Count == 0)
                {
                    _pumpRunning = false;
                    _drained?.TrySetResult();
                    return;
                }
                message = _overflow.Peek();
            }
            try
            {
                var result = Native.TryAppend(message, out var error);
                if (result == TryAppendResult.Failed)
                {
                    throw error!;
                }
                if (result == TryAppendResult.Full)
                {
                    // A full native buffer sends its open batch at once; room comes with the acknowledgement.
                    await Native.AppendAsync(message, _lifetime.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                int dropped;
                lock (_overflowLock)
                {
                    dropped = _overflow.Count;
                    _overflow.Clear();
                    Volatile.Write(ref _overflowCount, 0);
                    _pumpRunning = false;
                    _drained?.TrySetResult();
                }
                if (Volatile.Read(ref _disposed) == 0 || e is not OperationCanceledException)
                {
                    _sink.AddFailed(dropped);
                    _sink.Raise(new ProducerErrorEventArgs(e, SafeEpoch(), null, null, dropped));
                }
                return;
            }
            lock (_overflowLock)
            {
                // Dequeued only once the native buffer holds it, so direct appends cannot overtake it.
                _overflow.Dequeue();
                Volatile.Write(ref _overflowCount, _overflow.Count);
            }
        }
    }

    private async Task WaitOverflowDrainedAsync(CancellationToken cancellationToken)
    {
        Task? drained;
        lock (_overflowLock)
        {
            drained = _pumpRunning ? _drained?.Task : null;
        }
        if (drained is null)
        {
            return;
        }
        await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
