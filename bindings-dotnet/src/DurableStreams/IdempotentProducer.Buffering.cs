using System.Buffers;
using System.Text;
using DurableStreams.Interop;

namespace DurableStreams;

// IdempotentProducer: accepting messages into the native buffer, whose limits
// (MaxBufferedMessages, MaxBufferedBytes) bound everything the producer holds: there is no managed
// queue behind it. A full buffer blocks Append for at most BufferFullTimeout, then throws BufferFull.
public partial class IdempotentProducer
{
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
        var result = Native.TryAppend(data, out var error);
        if (result == TryAppendResult.Full)
        {
            AppendWhenFull(data);
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

    /// <summary>
    /// The buffer is full: blocks the calling thread until the native producer has room (an
    /// acknowledgement frees it), for at most <see cref="IdempotentProducerOptions.BufferFullTimeout"/>,
    /// then throws <see cref="DurableStreamErrorCode.BufferFull"/>. The wait is signalled from the
    /// native runtime's threads, never from the thread pool, so a blocked thread-pool thread cannot
    /// starve its own wake-up. A message refused this way was not buffered (the native wait is
    /// cancelled before it copies anything), so retrying it cannot store it twice.
    /// </summary>
    private void AppendWhenFull(ReadOnlySpan<byte> data)
    {
        var timeout = _bufferFullTimeout;
        if (timeout != TimeSpan.Zero)
        {
            Task wait;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token))
            {
                if (timeout != Timeout.InfiniteTimeSpan)
                {
                    cts.CancelAfter(timeout);
                }
                wait = Native.AppendAsync(data, cts.Token);
                try
                {
                    wait.GetAwaiter().GetResult();
                    CountAccepted(data.Length);
                    return;
                }
                catch (OperationCanceledException) when (!_lifetime.IsCancellationRequested)
                {
                    // Timed out: fall through to BufferFull.
                }
                catch (OperationCanceledException)
                {
                    ThrowIfDisposed();
                    throw;
                }
                catch (Exception e)
                {
                    RejectAppend(e);
                }
            }
        }
        throw BufferFull();
    }

    private DurableStreamException BufferFull()
    {
        var url = _stream?.SafeUrl;
        return new DurableStreamException(
            $"The buffer of producer {ProducerId} on {url} is full (MaxBufferedMessages {_maxBufferedMessages}, MaxBufferedBytes {_maxBufferedBytes}, "
            + $"counting batches in flight) and no room came within BufferFullTimeout ({FormatTimeout(_bufferFullTimeout)}): the server acknowledges more slowly "
            + "than messages are appended. The message was not buffered. Await AppendAsync to wait for room, poll TryAppend, or raise the limits.",
            DurableStreamErrorCode.BufferFull,
            statusCode: null,
            streamUrl: url)
        {
            CodeName = "BUFFER_FULL",
        };
    }

    private static string FormatTimeout(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? "infinite" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{timeout.TotalSeconds:0.###} s");

    private bool TryAppendSpan(ReadOnlySpan<byte> data, string paramName)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", paramName);
        }
        ThrowIfUnusable();
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
}
