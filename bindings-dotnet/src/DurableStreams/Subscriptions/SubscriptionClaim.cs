using DurableStreams.Interop;

namespace DurableStreams.Subscriptions;

/// <summary>One linked stream of a claimed wake.</summary>
/// <param name="Path">The stream-root-relative path.</param>
/// <param name="LinkType">Matched by the pattern or linked explicitly.</param>
/// <param name="AckedOffset">The subscription's cursor: processing starts after it.</param>
/// <param name="TailOffset">The stream's tail when the wake was claimed.</param>
/// <param name="HasPending">Whether the stream has data after its cursor.</param>
public sealed record ClaimedStream(string Path, SubscriptionLinkType LinkType, Offset AckedOffset, Offset TailOffset, bool HasPending);

/// <summary>A processed position to ack: messages of <paramref name="Stream"/> up to <paramref name="Offset"/> (inclusive) are done.</summary>
/// <param name="Stream">The stream-root-relative path.</param>
/// <param name="Offset">The offset after the last processed message (a batch's <see cref="SubscriptionBatch.Offset"/>).</param>
public sealed record SubscriptionAck(string Stream, Offset Offset);

/// <summary>
/// A claimed wake (<see cref="Subscription.ClaimAsync"/>): the lease on the subscription's pending
/// work until it is acked with <c>done</c>, released, or expires. For callers that drive wakes
/// themselves; <see cref="Subscription.PullAsync(string, CancellationToken)"/> does all of this for
/// you. Disposing it releases nothing (the lease simply expires); the claim token never leaves the
/// native library.
/// </summary>
public sealed class SubscriptionClaim : IDisposable
{
    internal SubscriptionClaim(NativeClaim native)
    {
        Native = native;
        (WakeId, Generation, LeaseTtl, Streams) = SubscriptionJson.Claim(native.Json);
    }

    internal NativeClaim Native { get; }

    /// <summary>The wake's unique id.</summary>
    public string WakeId { get; }

    /// <summary>The wake's generation (the subscription's fencing counter).</summary>
    public long Generation { get; }

    /// <summary>How long the lease lasts without a heartbeat.</summary>
    public TimeSpan LeaseTtl { get; }

    /// <summary>Every linked stream with its cursor and tail.</summary>
    public IReadOnlyList<ClaimedStream> Streams { get; }

    /// <summary>Frees the native claim (the lease is not released).</summary>
    public void Dispose() => Native.Dispose();

    /// <inheritdoc/>
    public override string ToString() => $"SubscriptionClaim(WakeId = {WakeId}, Generation = {Generation}, Streams = {Streams.Count})";
}
