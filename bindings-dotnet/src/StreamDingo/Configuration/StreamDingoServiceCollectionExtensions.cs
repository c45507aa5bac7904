using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>Registers StreamDingo in an <see cref="IServiceCollection"/>.</summary>
public static class StreamDingoServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons, <see cref="EventSourcing"/>, <see cref="IEventStore"/>,
    /// <see cref="IEventReplayEngine"/>, <see cref="IAggregateRepository"/>, <see cref="ISnapshotStore"/>,
    /// <see cref="IntegrityVerifier"/> and <see cref="StreamDingoOptions"/>, logging through the container's <see cref="ILoggerFactory"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the builder.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddStreamDingo(this IServiceCollection services, Action<EventSourcingBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new EventSourcingBuilder();
        configure(builder);
        services.AddSingleton(provider => builder.Build(provider.GetService<ILoggerFactory>()));
        services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<EventSourcing>().Store);
        services.AddSingleton<IEventReplayEngine>(provider => provider.GetRequiredService<EventSourcing>().Replay);
        services.AddSingleton<IAggregateRepository>(provider => provider.GetRequiredService<EventSourcing>().Aggregates);
        services.AddSingleton(provider => provider.GetRequiredService<EventSourcing>().Snapshots);
        services.AddSingleton(provider => provider.GetRequiredService<EventSourcing>().Integrity);
        services.AddSingleton(provider => provider.GetRequiredService<EventSourcing>().Options);
        return services;
    }

    /// <summary>Adds <see cref="StreamDingoHealthCheck"/> (the event store answers a read) to the health checks.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported on failure; unhealthy when null.</param>
    /// <param name="tags">Tags.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddStreamDingo(this IHealthChecksBuilder builder, string name = "streamdingo", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, provider => new StreamDingoHealthCheck(provider.GetRequiredService<IEventStore>()), failureStatus, tags));
    }
}
