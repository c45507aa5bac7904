using DurableStreams;
using DurableStreams.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="DurableStreamClient"/>s in an <see cref="IServiceCollection"/>.</summary>
public static class DurableStreamsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default client: a singleton <see cref="DurableStreamClient"/> (also available
    /// as <c>IDurableStreamClientFactory.GetClient("")</c>), configured from the configuration
    /// section <c>DurableStreams</c> when an <see cref="IConfiguration"/> is registered, then by
    /// <paramref name="configure"/>. It logs to the container's <see cref="ILoggerFactory"/> and
    /// is disposed with the container.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddDurableStreams(this IServiceCollection services, Action<DurableStreamClientOptions>? configure = null) =>
        AddDurableStreams(services, Options.Options.DefaultName, configure);

    /// <summary>
    /// Registers a named client (<see cref="IDurableStreamClientFactory.GetClient"/>), configured
    /// from the section <c>DurableStreams:Clients:{name}</c> when an <see cref="IConfiguration"/>
    /// is registered, then by <paramref name="configure"/>. The empty name is the default client,
    /// which is also registered as <see cref="DurableStreamClient"/> and configured from <c>DurableStreams</c>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The client name.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddDurableStreams(this IServiceCollection services, string name, Action<DurableStreamClientOptions>? configure = null) =>
        AddCore(services, name, section: null, configure);

    /// <summary>Registers a named client configured from <paramref name="configuration"/> (a section with <c>BaseUrl</c>, <c>DefaultHeaders</c>...), then by <paramref name="configure"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The client name (empty: the default client).</param>
    /// <param name="configuration">The configuration section to bind.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddDurableStreams(this IServiceCollection services, string name, IConfiguration configuration, Action<DurableStreamClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddCore(services, name, configuration, configure);
    }

    private static IServiceCollection AddCore(IServiceCollection services, string name, IConfiguration? section, Action<DurableStreamClientOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);

        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(DurableStreamClientRegistry))?.ImplementationInstance as DurableStreamClientRegistry;
        if (registry is null)
        {
            registry = new DurableStreamClientRegistry();
            services.AddSingleton(registry);
        }
        registry.Names.Add(name);

        services.AddOptions();
        services.AddOptions<DurableStreamClientOptions>(name).Configure<IServiceProvider>((options, provider) =>
        {
            var bound = section ?? provider.GetService<IConfiguration>()?.GetSection(DurableStreamsConfiguration.SectionPath(name));
            if (bound is not null)
            {
                DurableStreamsConfiguration.Bind(bound, options);
            }
            options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
        });
        if (configure is not null)
        {
            services.Configure(name, configure);
        }

        services.TryAddSingleton<IDurableStreamClientFactory, DurableStreamClientFactory>();
        if (name.Length == 0)
        {
            services.TryAddSingleton(static provider => provider.GetRequiredService<IDurableStreamClientFactory>().GetClient(Options.Options.DefaultName));
        }
        return services;
    }
}
