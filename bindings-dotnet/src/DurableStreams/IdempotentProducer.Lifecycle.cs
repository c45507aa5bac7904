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
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
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
    public virtual async Task CloseAsync(ReadOnlyMemory<byte> finalData, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await TraceFlushAsync("close", async () =>
        {
            await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
            _finished = true;
            await Native.CloseAsync(finalData.Span, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
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
    /// Flushes, then detaches, then releases the native producer. Delivery errors are not thrown
    /// here: they were reported to <see cref="OnError"/>.
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
                try
                {
                    await FlushCoreAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                {
                    // A delivery failure: already reported to OnError by the native producer.
                }
                try
                {
                    await DetachCoreAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                {
                    // Same as above.
                }
            }
        }
        finally
        {
            // Stops the overflow pump (the CancellationTokenSource has no timer: nothing to dispose).
            _lifetime.Cancel();
            Telemetry.UnregisterProducer(this);
            _native.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        // The native flush also fails when the producer failed before it was called.
        await Native.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DetachCoreAsync(CancellationToken cancellationToken)
    {
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        _finished = true;
        await Native.DetachAsync(cancellationToken).ConfigureAwait(false);
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
