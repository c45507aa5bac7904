using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace S2.StreamStore.Extensions.DependencyInjection;

/// <summary>Registers an <see cref="S2Client"/> and its health check.</summary>
public static class S2ServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="S2Client"/> singleton, configured by <paramref name="configure"/>;
    /// its logs go to the container's <see cref="ILoggerFactory"/> unless the options name one.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options (access token, endpoints...).</param>
    public static IServiceCollection AddS2Client(this IServiceCollection services, Action<S2Options> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddS2Client((_, options) => configure(options));
    }

    /// <summary>Registers one <see cref="S2Client"/> singleton configured with access to the service provider.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    public static IServiceCollection AddS2Client(this IServiceCollection services, Action<IServiceProvider, S2Options> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddSingleton(provider =>
        {
            var options = new S2Options();
            configure(provider, options);
            options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
            return new S2Client(options);
        });
        return services;
    }

    /// <summary>
    /// Adds a health check of the registered client: healthy when the account answers a basin
    /// listing (or, with <paramref name="basin"/> and <paramref name="stream"/>, that stream's tail).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="basin">A basin to check a stream of (null: list basins).</param>
    /// <param name="stream">The stream whose tail is checked.</param>
    /// <param name="timeout">The check's time limit (null: 5 s).</param>
    public static IHealthChecksBuilder AddS2(this IHealthChecksBuilder builder, string name = "s2", string? basin = null, string? stream = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if ((basin is null) != (stream is null))
        {
            throw new ArgumentException("Give both basin and stream, or neither.", basin is null ? nameof(basin) : nameof(stream));
        }
        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new S2HealthCheck(provider.GetRequiredService<S2Client>(), basin, stream, timeout ?? TimeSpan.FromSeconds(5)),
            HealthStatus.Unhealthy,
            new[] { "s2" }));
    }
}
