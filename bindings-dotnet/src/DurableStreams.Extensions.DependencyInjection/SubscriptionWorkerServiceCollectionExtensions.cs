using System.Diagnostics.CodeAnalysis;
using DurableStreams;
using DurableStreams.Extensions.DependencyInjection;
using DurableStreams.Subscriptions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>How a hosted subscription worker is set up (<see cref="SubscriptionWorkerServiceCollectionExtensions.AddDurableStreamsSubscriptionWorker{THandler}"/>).</summary>
public sealed class SubscriptionWorkerRegistration
{
    /// <summary>The name of the client (registered with <c>AddDurableStreams</c>) whose server holds the subscription; empty for the default client.</summary>
    public string ClientName { get; set; } = string.Empty;

    /// <summary>The worker's name (the lease holder the server reports); by default the machine name and the process id.</summary>
    public string WorkerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>How often to heartbeat while a batch is handled; null for a third of the lease.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>How long to wait after a failed batch before claiming again; null for 1 second.</summary>
    public TimeSpan? FailureBackoff { get; set; }
}

/// <summary>Registers hosted pull workers of subscriptions.</summary>
public static class SubscriptionWorkerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a hosted service that runs a pull worker of <paramref name="subscriptionId"/> and
    /// hands each batch to a <typeparamref name="THandler"/> resolved from a new scope (registered
    /// as scoped unless already registered). Register the client with <c>AddDurableStreams</c> too.
    /// </summary>
    /// <typeparam name="THandler">The batch handler.</typeparam>
    /// <param name="services">The services.</param>
    /// <param name="subscriptionId">The pull-wake subscription to consume.</param>
    /// <param name="configure">Sets the client, the worker's name and its timings.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddDurableStreamsSubscriptionWorker<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, string subscriptionId, Action<SubscriptionWorkerRegistration>? configure = null)
        where THandler : class, ISubscriptionBatchHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(subscriptionId);
        var registration = new SubscriptionWorkerRegistration();
        configure?.Invoke(registration);
        var options = new PullWorkerOptions(registration.WorkerName)
        {
            HeartbeatInterval = registration.HeartbeatInterval,
            FailureBackoff = registration.FailureBackoff,
        };
        services.TryAddScoped<THandler>();
        services.AddSingleton<IHostedService>(provider => new ScopedHandlerWorkerService<THandler>(
            provider.GetRequiredService<IDurableStreamClientFactory>().GetClient(registration.ClientName),
            subscriptionId,
            options,
            provider.GetRequiredService<IServiceScopeFactory>(),
            provider.GetService<ILoggerFactory>()?.CreateLogger("DurableStreams.Subscriptions")));
        return services;
    }
}

/// <summary>Runs <typeparamref name="THandler"/> from a new scope per batch.</summary>
internal sealed class ScopedHandlerWorkerService<THandler> : SubscriptionWorkerService
    where THandler : class, ISubscriptionBatchHandler
{
    private readonly IServiceScopeFactory _scopes;

    public ScopedHandlerWorkerService(DurableStreamClient client, string subscriptionId, PullWorkerOptions options, IServiceScopeFactory scopes, ILogger? logger)
        : base(client, subscriptionId, options, logger)
    {
        _scopes = scopes;
    }

    protected override async ValueTask HandleAsync(SubscriptionBatch batch, CancellationToken cancellationToken)
    {
        var scope = _scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }
}
