using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace S2.StreamStore.Extensions.DependencyInjection;

/// <summary>Checks that S2 answers: a basin listing, or a stream's tail.</summary>
public sealed class S2HealthCheck : IHealthCheck
{
    private readonly S2Client _client;
    private readonly string? _basin;
    private readonly string? _stream;
    private readonly TimeSpan _timeout;

    /// <summary>A check of <paramref name="client"/>.</summary>
    /// <param name="client">The client.</param>
    /// <param name="basin">A basin (null: list basins).</param>
    /// <param name="stream">The stream whose tail is checked.</param>
    /// <param name="timeout">The time limit.</param>
    public S2HealthCheck(S2Client client, string? basin, string? stream, TimeSpan timeout)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _basin = basin;
        _stream = stream;
        _timeout = timeout;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        try
        {
            if (_basin is not null && _stream is not null)
            {
                using var stream = _client.Basin(_basin).Stream(_stream);
                var tail = await stream.CheckTailAsync(cts.Token).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"{_basin}/{_stream} tail at {tail.SequenceNumber}");
            }
            await _client.ListBasinsAsync(new ListOptions { Limit = 1 }, cts.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy("S2 answered a basin listing");
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, $"S2 did not answer within {_timeout}", e);
        }
        catch (S2Exception e)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, $"S2 failed: {e.Kind}", e);
        }
    }
}
