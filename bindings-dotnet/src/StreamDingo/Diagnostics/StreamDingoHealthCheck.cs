using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamDingo;

/// <summary>Healthy when the event store answers a version query for a probe stream (which need not exist).</summary>
public sealed class StreamDingoHealthCheck : IHealthCheck
{
    /// <summary>The stream queried.</summary>
    public const string ProbeStreamId = "streamdingo-health-probe";

    private readonly IEventStore _store;

    /// <summary>A check of <paramref name="store"/>.</summary>
    /// <param name="store">The event store.</param>
    public StreamDingoHealthCheck(IEventStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            var version = await _store.GetVersionAsync(ProbeStreamId, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"The event store answered (probe stream at version {version}).");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"The event store did not answer: {e.Message}", e);
        }
    }
}
