using DurableStreams.Subscriptions;

namespace DurableStreams.Extensions.DependencyInjection;

/// <summary>
/// Handles the batches of a subscription registered with
/// <see cref="Microsoft.Extensions.DependencyInjection.SubscriptionWorkerServiceCollectionExtensions.AddDurableStreamsSubscriptionWorker{THandler}"/>:
/// resolved from a new dependency-injection scope for each batch (so it may depend on scoped
/// services such as a DbContext). Delivery is at least once: make the effect idempotent, for
/// example by recording <see cref="SubscriptionBatch.Offset"/> with it.
/// </summary>
public interface ISubscriptionBatchHandler
{
    /// <summary>Handles one batch. Return to ack it; throw to have it delivered again after the failure backoff.</summary>
    /// <param name="batch">The messages of one linked stream.</param>
    /// <param name="cancellationToken">Fires when the host stops or the batch's lease is lost.</param>
    /// <returns>A task that completes when the batch is handled.</returns>
    ValueTask HandleAsync(SubscriptionBatch batch, CancellationToken cancellationToken);
}
