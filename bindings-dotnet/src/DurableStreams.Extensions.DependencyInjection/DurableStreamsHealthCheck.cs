using DurableStreams;
using DurableStreams.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DurableStreams.Extensions.DependencyInjection
{
    /// <summary>Settings of a <see cref="DurableStreamsHealthCheck"/>.</summary>
    public sealed class DurableStreamsHealthCheckOptions
    {
        /// <summary>The stream probed with <c>HEAD</c>: a path under the client's base URL, or an absolute URL.</summary>
        public string StreamPath { get; set; } = "/health";

        /// <summary>Whether a 404 (the stream does not exist) counts as healthy: the server answered. Default true.</summary>
        public bool NotFoundIsHealthy { get; set; } = true;

        /// <summary>The registered client to use (empty: the default client).</summary>
        public string ClientName { get; set; } = string.Empty;
    }

    /// <summary>
    /// Checks that the Durable Streams server is reachable: a <c>HEAD</c> on
    /// <see cref="DurableStreamsHealthCheckOptions.StreamPath"/> (retried per the client's retry options).
    /// </summary>
    public sealed class DurableStreamsHealthCheck : IHealthCheck
    {
        private readonly DurableStreamClient _client;
        private readonly DurableStreamsHealthCheckOptions _options;

        /// <summary>Creates the check.</summary>
        /// <param name="client">The client.</param>
        /// <param name="options">The stream to probe and how to treat a 404.</param>
        public DurableStreamsHealthCheck(DurableStreamClient client, DurableStreamsHealthCheckOptions options)
        {
            ArgumentNullException.ThrowIfNull(client);
            ArgumentNullException.ThrowIfNull(options);
            _client = client;
            _options = options;
        }

        /// <inheritdoc/>
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(context);
            var failure = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
            try
            {
                var metadata = await _client.GetStream(_options.StreamPath).HeadAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy(
                    "The Durable Streams server is reachable.",
                    new Dictionary<string, object> { ["offset"] = metadata.Offset?.Value ?? string.Empty, ["closed"] = metadata.StreamClosed });
            }
            catch (StreamNotFoundException) when (_options.NotFoundIsHealthy)
            {
                return HealthCheckResult.Healthy("The Durable Streams server is reachable (the probe stream does not exist).");
            }
            catch (DurableStreamException e)
            {
                var data = new Dictionary<string, object> { ["error"] = e.Code.ToString() };
                if (e.StatusCode is { } status)
                {
                    data["status"] = status;
                }
                return new HealthCheckResult(failure, $"The Durable Streams server check failed: {e.Code}.", e, data);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(failure, "The Durable Streams server check timed out.", e);
            }
        }
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Registers <see cref="DurableStreamsHealthCheck"/>.</summary>
    public static class DurableStreamsHealthChecksBuilderExtensions
    {
        /// <summary>
        /// Adds a health check that the Durable Streams server is reachable (a <c>HEAD</c> on
        /// <paramref name="streamPath"/> with the client registered by <c>AddDurableStreams</c>).
        /// </summary>
        /// <param name="builder">The health checks builder.</param>
        /// <param name="streamPath">The stream to probe (a path under the client's base URL, or a URL).</param>
        /// <param name="notFoundIsHealthy">Whether a 404 counts as healthy (the server answered).</param>
        /// <param name="clientName">The registered client (empty: the default client).</param>
        /// <param name="name">The health check name.</param>
        /// <param name="failureStatus">The status reported on failure (default <see cref="HealthStatus.Unhealthy"/>).</param>
        /// <param name="tags">Tags for filtering checks.</param>
        /// <param name="timeout">The check's time limit.</param>
        /// <returns><paramref name="builder"/>.</returns>
        public static IHealthChecksBuilder AddDurableStreams(
            this IHealthChecksBuilder builder,
            string streamPath = "/health",
            bool notFoundIsHealthy = true,
            string clientName = "",
            string name = "durable-streams",
            HealthStatus? failureStatus = null,
            IEnumerable<string>? tags = null,
            TimeSpan? timeout = null)
        {
            ArgumentNullException.ThrowIfNull(builder);
            ArgumentException.ThrowIfNullOrEmpty(streamPath);
            if (streamPath.Contains('\0', StringComparison.Ordinal))
            {
                // Checked here, not at the first probe: the core takes NUL-terminated strings.
                throw new ArgumentException("streamPath cannot contain a NUL character ('\\0'): native strings end at the first NUL.", nameof(streamPath));
            }
            var options = new DurableStreamsHealthCheckOptions { StreamPath = streamPath, NotFoundIsHealthy = notFoundIsHealthy, ClientName = clientName ?? string.Empty };
            return builder.Add(new HealthCheckRegistration(
                name,
                provider => new DurableStreamsHealthCheck(provider.GetRequiredService<IDurableStreamClientFactory>().GetClient(options.ClientName), options),
                failureStatus,
                tags,
                timeout));
        }
    }
}
