using System.Runtime.CompilerServices;
using DurableStreams.Interop;

namespace DurableStreams.Subscriptions;

/// <summary>
/// A subscription of the server (the protocol's §6–7): a durable cursor per linked stream over a
/// glob of streams plus explicit ones, delivered by pull-wake (see <see cref="PullAsync(string, CancellationToken)"/>)
/// or webhook. Get one with <see cref="DurableStreamClient.Subscription(string)"/>; creating the
/// handle does no I/O. A server without subscriptions (Electric's) fails every call with
/// <see cref="SubscriptionsNotSupportedException"/>.
/// </summary>
public sealed class Subscription
{
    private readonly DurableStreamClient _client;
    private readonly NativeSubscription _native;

    internal Subscription(DurableStreamClient client, NativeSubscription native)
    {
        _client = client;
        _native = native;
    }

    /// <summary>The subscription id.</summary>
    public string Id => _native.Id;

    /// <summary>The subscription's control URL (<c>{stream root}/__ds/subscriptions/{id}</c>).</summary>
    public string Url => _native.Url;

    /// <summary>
    /// Creates the subscription, or re-confirms an identical one (<see cref="SubscriptionCreateResult.Created"/>
    /// is then false). Every field is checked first.
    /// </summary>
    /// <param name="options">Its delivery, pattern, streams, lease and description.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Whether it was created, and the subscription as the server has it.</returns>
    /// <exception cref="ArgumentException">A field is invalid (the message names it).</exception>
    /// <exception cref="SubscriptionConflictException">It exists with a different configuration.</exception>
    /// <exception cref="SubscriptionsNotSupportedException">The server has no subscriptions.</exception>
    public async Task<SubscriptionCreateResult> CreateAsync(SubscriptionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = SubscriptionJson.Config(options);
        try
        {
            return SubscriptionJson.CreateResult(await _native.CreateAsync(config, cancellationToken).ConfigureAwait(false));
        }
        catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.InvalidArgument)
        {
            throw new ArgumentException(e.Message, nameof(options), e);
        }
    }

    /// <summary>Reads the subscription: its configuration, linked streams with their cursors, and status.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The subscription.</returns>
    /// <exception cref="StreamNotFoundException">It does not exist.</exception>
    /// <exception cref="SubscriptionsNotSupportedException">The server has no subscriptions.</exception>
    public async Task<SubscriptionInfo> GetAsync(CancellationToken cancellationToken = default) =>
        SubscriptionJson.Info(await _native.GetAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Deletes the subscription. Requests of its wakes in flight fail afterwards and advance no cursor.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once it is deleted.</returns>
    /// <exception cref="StreamNotFoundException">It does not exist.</exception>
    public Task DeleteAsync(CancellationToken cancellationToken = default) => _native.DeleteAsync(cancellationToken);

    /// <summary>Links streams explicitly, at their current tails; linking a linked stream again is harmless.</summary>
    /// <param name="paths">At least one stream-root-relative path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once they are linked.</returns>
    /// <exception cref="ArgumentException">No path, or an invalid one (named).</exception>
    public async Task AddStreamsAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var list = paths.ToList();
        try
        {
            await _native.AddStreamsAsync(list, cancellationToken).ConfigureAwait(false);
        }
        catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.InvalidArgument)
        {
            throw new ArgumentException(e.Message, nameof(paths), e);
        }
    }

    /// <summary>Removes the explicit link of <paramref name="path"/> (a link by the pattern stays; removing an absent link is harmless).</summary>
    /// <param name="path">The stream-root-relative path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once it is removed.</returns>
    public async Task RemoveStreamAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            await _native.RemoveStreamAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.InvalidArgument)
        {
            throw new ArgumentException(e.Message, nameof(path), e);
        }
    }

    /// <summary>
    /// A pull worker of this subscription (<see cref="SubscriptionWorker.PullAsync"/> or
    /// <see cref="SubscriptionWorker.RunAsync"/> runs it). No I/O happens here.
    /// </summary>
    /// <param name="options">The worker's name and timings.</param>
    /// <returns>The worker; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A timing is not positive.</exception>
    public SubscriptionWorker CreateWorker(PullWorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handle = _native.CreateWorker(options.WorkerName, options.HeartbeatInterval, options.FailureBackoff);
        return new SubscriptionWorker(this, _client, handle, options.WorkerName);
    }

    /// <summary>A pull worker named <paramref name="workerName"/> with the default timings.</summary>
    /// <param name="workerName">The name the server reports as the lease holder.</param>
    /// <returns>The worker; dispose it when done.</returns>
    public SubscriptionWorker CreateWorker(string workerName) => CreateWorker(new PullWorkerOptions(workerName));

    /// <summary>
    /// Runs a pull worker named <paramref name="workerName"/> and yields each batch (see
    /// <see cref="SubscriptionWorker.PullAsync"/>):
    /// <c>await foreach (var batch in subscription.PullAsync("worker-1", ct)) { ... }</c>.
    /// </summary>
    /// <param name="workerName">The name the server reports as the lease holder.</param>
    /// <param name="cancellationToken">Stops the worker.</param>
    /// <returns>The batches, one at a time.</returns>
    public async IAsyncEnumerable<SubscriptionBatch> PullAsync(string workerName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var worker = CreateWorker(workerName);
        await foreach (var batch in worker.PullAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return batch;
        }
    }

    /// <summary>
    /// Claims the subscription's current wake for <paramref name="worker"/>, to drive it yourself
    /// (read each stream of <see cref="SubscriptionClaim.Streams"/>, then <see cref="AckAsync"/>).
    /// </summary>
    /// <param name="worker">The lease holder's name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The claim (dispose it), or null when there is no pending work.</returns>
    /// <exception cref="DurableStreamException">Another worker holds the lease (<see cref="DurableStreamErrorCode.AlreadyClaimed"/>).</exception>
    public Task<SubscriptionClaim?> ClaimAsync(string worker, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return _native.ClaimAsync(worker, cancellationToken);
    }

    /// <summary>
    /// Acks processed offsets of a claimed wake. With <paramref name="done"/> the lease is
    /// released; without, it is extended (a heartbeat).
    /// </summary>
    /// <param name="claim">The claim.</param>
    /// <param name="acks">The processed positions (may be empty).</param>
    /// <param name="done">Whether the wake is finished.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>After <paramref name="done"/>: whether work was still pending and a new wake was issued.</returns>
    /// <exception cref="SubscriptionFencedException">The claim is no longer current; nothing was applied.</exception>
    public Task<bool> AckAsync(SubscriptionClaim claim, IReadOnlyList<SubscriptionAck> acks, bool done, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(acks);
        return _native.AckAsync(claim, acks, done, cancellationToken);
    }

    /// <summary>Extends the lease without acking anything.</summary>
    /// <param name="claim">The claim.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once the server extended the lease.</returns>
    /// <exception cref="SubscriptionFencedException">The claim is no longer current.</exception>
    public Task HeartbeatAsync(SubscriptionClaim claim, CancellationToken cancellationToken = default) =>
        AckAsync(claim, [], done: false, cancellationToken);

    /// <summary>Gives the wake back without acking (the server issues another wake if work is pending).</summary>
    /// <param name="claim">The claim.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once it is released.</returns>
    /// <exception cref="SubscriptionFencedException">The claim is no longer current.</exception>
    public Task ReleaseAsync(SubscriptionClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return _native.ReleaseAsync(claim, cancellationToken);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Subscription({Id})";
}
