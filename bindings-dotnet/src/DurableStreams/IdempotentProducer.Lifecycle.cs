using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

// IdempotentProducer: flush, close, detach, restart and disposal; the native producer behind it.
public partial class IdempotentProducer
{
    // ------------------------------------------------------------------ lifecycle

    /// <summary>
    /// Sends everything buffered now (without waiting for the linger time) and completes when
    /// every message appended before this call is acknowledged.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait (not the delivery).</param>
    /// <returns>A task that completes when the messages are acknowledged.</returns>
    /// <exception cref="StaleEpochException">The producer was fenced by a newer epoch.</exception>
    /// <exception cref="DurableStreamException">A batch failed for good (also reported to <see cref="OnError"/>).</exception>
    public virtual async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await TraceFlushAsync("flush", () => FlushCoreAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Delivers what is buffered, then moves to the next epoch at sequence 0 (what a new instance
    /// of this producer would do) and clears a delivery failure, so the producer accepts messages again.
    /// </summary>
    /// <param name="cancellationToken">Cancels the restart.</param>
    /// <returns>A task that completes with the producer at its new <see cref="Epoch"/>.</returns>
    public virtual async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await Native.RestartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Delivers everything buffered, then closes the stream (no more appends by anyone). Idempotent.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the stream is closed.</returns>
    public virtual Task CloseAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>Delivers everything buffered, then appends <paramref name="finalData"/> and closes the stream atomically.</summary>
    /// <param name="finalData">The final message (empty: just close).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the stream is closed.</returns>
    public virtual Task CloseAsync(ReadOnlyMemory<byte> finalData, CancellationToken cancellationToken = default) =>
        CloseStreamAsync(finalData, cancellationToken);

    /// <summary>
    /// Delivers everything buffered, then appends <paramref name="data"/> (when not empty) and
    /// closes the stream atomically, through the producer (so a retried close is deduplicated).
    /// Idempotent.
    /// </summary>
    /// <param name="data">The final message; empty (the default): just close.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The stream's final tail offset (<see cref="AppendResult.StreamClosed"/> is true).</returns>
    public virtual async Task<AppendResult> CloseStreamAsync(ReadOnlyMemory<byte> data = default, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        Offset? finalOffset = null;
        await TraceFlushAsync("close", async () =>
        {
            var appended = Interlocked.Read(ref _accepted);
            _finished = true;
            finalOffset = await Native.CloseAsync(data.Span, cancellationToken).ConfigureAwait(false);
            Acknowledged(appended);
        }).ConfigureAwait(false);
        return new AppendResult(finalOffset) { StreamClosed = true };
    }

    /// <summary>Delivers everything buffered, then stops without closing the stream (another instance may continue with a newer epoch).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the producer has stopped.</returns>
    public virtual async Task DetachAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await DetachCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Flushes, then detaches, then releases the native producer, waiting at most
    /// <see cref="IdempotentProducerOptions.ShutdownTimeout"/> (default 5 s) for the delivery.
    /// Delivery errors are not thrown here: they were reported to <see cref="OnError"/>. When the
    /// shutdown time runs out first (e.g. the server is down), the producer is released anyway and
    /// the messages whose delivery was not confirmed are reported once: one <see cref="OnError"/>
    /// event (a <see cref="DurableStreamException"/> with code <see cref="DurableStreamErrorCode.Timeout"/>,
    /// <see cref="ProducerErrorEventArgs.MessageCount"/> the number of messages) and one log entry.
    /// To wait with a token instead, call <see cref="FlushAsync"/>, <see cref="CloseAsync(CancellationToken)"/>
    /// or <see cref="DetachAsync"/> first.
    /// </summary>
    /// <returns>A task that completes when the producer is released.</returns>
    public virtual async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _native is null)
        {
            GC.SuppressFinalize(this);
            return;
        }
        try
        {
            if (!_finished)
            {
                using var shutdown = new CancellationTokenSource(_shutdownTimeout);
                var timedOut = false;
                try
                {
                    await FlushCoreAsync(shutdown.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
                {
                    timedOut = true;
                }
                catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                {
                    // A delivery failure: already reported to OnError by the native producer.
                }
                if (!timedOut)
                {
                    try
                    {
                        await DetachCoreAsync(shutdown.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
                    {
                        timedOut = true;
                    }
                    catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                    {
                        // Same as above.
                    }
                }
                if (timedOut)
                {
                    ReportShutdownLoss();
                }
            }
        }
        finally
        {
            // Wakes an Append blocked on a full buffer (the CancellationTokenSource has no timer: nothing to dispose).
            _lifetime.Cancel();
            Telemetry.UnregisterProducer(this);
            _native.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>
    /// The shutdown time ran out: reports, once, the messages accepted and neither acknowledged
    /// (by a successful flush, close or detach) nor already reported as failed.
    /// </summary>
    private void ReportShutdownLoss()
    {
        var unsent = SafeCount(static p => p.PendingCount);
        var inFlight = SafeCount(static p => p.InFlightCount);
        var lost = Interlocked.Read(ref _accepted) - Interlocked.Read(ref _acknowledged) - _sink.FailedMessages;
        lost = Math.Max(lost, unsent);
        if (lost <= 0)
        {
            return;
        }
        var url = _stream?.SafeUrl;
        var error = new DurableStreamException(
            $"The producer {ProducerId} on {url} was disposed before its messages were delivered: after the shutdown timeout "
            + $"({_shutdownTimeout.TotalSeconds:0.###} s, IdempotentProducerOptions.ShutdownTimeout) {lost} message(s) were not confirmed delivered "
            + $"({unsent} never sent; {inFlight} batch(es) in flight may have been stored). The producer was released.",
            DurableStreamErrorCode.Timeout,
            statusCode: null,
            streamUrl: url)
        {
            CodeName = "TIMEOUT",
        };
        _sink.AddFailed(lost);
        _sink.Raise(new ProducerErrorEventArgs(error, SafeEpoch(), null, null, lost));
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        var appended = Interlocked.Read(ref _accepted);
        // The native flush also fails when the producer failed before it was called.
        await Native.FlushAsync(cancellationToken).ConfigureAwait(false);
        Acknowledged(appended);
    }

    private async Task DetachCoreAsync(CancellationToken cancellationToken)
    {
        var appended = Interlocked.Read(ref _accepted);
        _finished = true;
        await Native.DetachAsync(cancellationToken).ConfigureAwait(false);
        Acknowledged(appended);
    }

    /// <summary>Every message accepted before <paramref name="appended"/> was reached is delivered.</summary>
    private void Acknowledged(long appended)
    {
        long current;
        do
        {
            current = Interlocked.Read(ref _acknowledged);
            if (appended <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _acknowledged, appended, current) != current);
    }

    /// <summary>The native producer; only a test double (protected constructor) has none.</summary>
    private NativeProducer Native => _native ?? throw NotBacked();

    private static InvalidOperationException NotBacked() =>
        new("This IdempotentProducer was not created by DurableStream.CreateProducer and has no native producer behind it.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private void ThrowIfUnusable()
    {
        ThrowIfDisposed();
        if (_native is null)
        {
            throw NotBacked();
        }
    }
}
