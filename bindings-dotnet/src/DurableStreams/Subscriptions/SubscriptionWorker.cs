using System.Runtime.CompilerServices;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Subscriptions;

/// <summary>
/// A worker of one pull-wake subscription, running in the native core: it follows the wake
/// stream, races other workers to claim each wake (a lost race waits for the next wake, never
/// polling), reads each linked stream from its cursor to its tail, hands you the messages as
/// <see cref="SubscriptionBatch"/>es, heartbeats while you work so the lease never lapses under a
/// slow handler, acks with <c>done</c> when every batch succeeded, and releases the wake when one
/// failed. Delivery is at least once: make handlers idempotent for an exactly-once effect.
/// One run at a time per worker; dispose it when done.
/// </summary>
public sealed class SubscriptionWorker : IDisposable
{
    private readonly NativePullWorker _native;
    private readonly DurableStreamClient _client;
    private int _running;

    internal SubscriptionWorker(Subscription subscription, DurableStreamClient client, NativePullWorker native, string name)
    {
        Subscription = subscription;
        _client = client;
        _native = native;
        Name = name;
        SubscriptionTelemetry.Track(this);
    }

    /// <summary>The subscription this worker consumes.</summary>
    public Subscription Subscription { get; }

    /// <summary>The worker's name (the lease holder the server reports).</summary>
    public string Name { get; }

    /// <summary>What the worker has done so far.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public SubscriptionWorkerStats Stats => TryGetStats() ?? throw new ObjectDisposedException(nameof(SubscriptionWorker));

    /// <summary>The message of the worker's last failure (a failed batch, a read error, a lost lease), or null.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public string? LastError => _native.LastError();

    /// <summary>
    /// Runs the worker and yields each batch. A batch whose loop body finishes normally is acked
    /// (or call <see cref="SubscriptionBatch.AckAsync"/> earlier); <see cref="SubscriptionBatch.Fail"/>
    /// has it delivered again. Leaving the loop (break, an exception, cancellation) stops the worker:
    /// a batch not acked by then is not acked, and another worker processes it when the lease expires.
    /// Ends normally when the wake stream is closed.
    /// </summary>
    /// <param name="cancellationToken">Stops the worker; also combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches, one at a time (the next is read only once the previous completed).</returns>
    /// <exception cref="InvalidOperationException">The worker is already running.</exception>
    /// <exception cref="SubscriptionsNotSupportedException">The server has no subscriptions.</exception>
    /// <exception cref="StreamNotFoundException">The subscription or its wake stream does not exist.</exception>
    /// <exception cref="ArgumentException">The subscription is not a pull-wake subscription.</exception>
    public async IAsyncEnumerable<SubscriptionBatch> PullAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var run = Start();
        using var registration = cancellationToken.UnsafeRegister(static r => ((NativePullRun)r!).Stop(), run);
        SubscriptionBatch? current = null;
        try
        {
            while (await run.Batches.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (!run.Batches.TryRead(out current))
                {
                    continue;
                }
                yield return current;
                // The loop body finished normally: the batch was processed.
                current.Complete(null);
                current.Dispose();
                current = null;
            }
            await Finish(run, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (current is not null)
            {
                // The consumer left in the middle of a batch: nothing more is acked.
                run.Stop();
                current.Dispose();
            }
            run.Stop();
            await Drain(run).ConfigureAwait(false);
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Runs the worker, calling <paramref name="handler"/> for each batch until
    /// <paramref name="cancellationToken"/> fires (then completes normally) or the wake stream is
    /// closed. A handler that returns acks its batch (unless it called <see cref="SubscriptionBatch.Fail"/>);
    /// one that throws fails it (logged; the batch is delivered again after the failure backoff)
    /// and the worker goes on. Use this from hosted services.
    /// </summary>
    /// <param name="handler">Your code; its token fires when the worker stops or the batch's lease is lost.</param>
    /// <param name="cancellationToken">Stops the worker.</param>
    /// <returns>A task that completes when the worker stopped.</returns>
    /// <exception cref="InvalidOperationException">The worker is already running.</exception>
    /// <exception cref="SubscriptionsNotSupportedException">The server has no subscriptions.</exception>
    /// <exception cref="StreamNotFoundException">The subscription or its wake stream does not exist.</exception>
    public async Task RunAsync(Func<SubscriptionBatch, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        try
        {
            await foreach (var batch in PullAsync(cancellationToken).ConfigureAwait(false))
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, batch.LeaseLost);
                try
                {
                    await handler(batch, linked.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    if (!batch.Lost)
                    {
                        // A lost lease is logged when the worker reports it.
                        Log(l => Diagnostics.Log.SubscriptionBatchFailed(l, Subscription.Id, Name, batch.Stream, batch.Offset.ToString(), e));
                    }
                    batch.Fail($"{e.GetType().Name}: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped as asked.
        }
    }

    /// <summary>Frees the native worker. A run in progress is stopped by its token, not by this.</summary>
    public void Dispose()
    {
        SubscriptionTelemetry.Forget(this);
        _native.Dispose();
    }

    /// <summary>The counters, or null once the worker is disposed.</summary>
    internal SubscriptionWorkerStats? TryGetStats() => _native.Stats();

    private NativePullRun Start()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException($"Pull worker {Name} of subscription {Subscription.Id} is already running; create another worker to run in parallel.");
        }
        try
        {
            _client.ThrowIfDisposed();
            var run = _native.Start(
                Subscription.Id,
                Name,
                _client.JsonSerializerOptions,
                _client.Logger is null ? null : batch => Log(l => Diagnostics.Log.SubscriptionLeaseLost(l, Subscription.Id, Name, batch.Stream)));
            Log(l => Diagnostics.Log.SubscriptionWorkerStarted(l, Subscription.Id, Name));
            return run;
        }
        catch
        {
            Volatile.Write(ref _running, 0);
            throw;
        }
    }

    private async Task Finish(NativePullRun run, CancellationToken cancellationToken)
    {
        try
        {
            await run.Completion.ConfigureAwait(false);
            Log(l => Diagnostics.Log.SubscriptionWorkerStopped(l, Subscription.Id, Name, "the wake stream was closed"));
        }
        catch (OperationCanceledException)
        {
            Log(l => Diagnostics.Log.SubscriptionWorkerStopped(l, Subscription.Id, Name, "cancelled"));
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
        catch (Exception e)
        {
            Log(l => Diagnostics.Log.SubscriptionWorkerFailed(l, Subscription.Id, Name, e));
            throw;
        }
    }

    /// <summary>Waits for the native run to end (no callback comes after), discarding its outcome.</summary>
    private static async Task Drain(NativePullRun run)
    {
        try
        {
            await run.Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reported by Finish, or irrelevant once the consumer has left.
        }
        while (run.Batches.TryRead(out var unread))
        {
            unread.Dispose();
        }
    }

    private void Log(Action<ILogger> write)
    {
        if (_client.Logger is { } logger)
        {
            write(logger);
        }
    }
}
