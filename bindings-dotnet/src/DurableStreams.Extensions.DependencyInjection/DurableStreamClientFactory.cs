using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace DurableStreams.Extensions.DependencyInjection;

/// <summary>Gives the clients registered with <c>AddDurableStreams</c>, by name.</summary>
public interface IDurableStreamClientFactory
{
    /// <summary>
    /// The client registered under <paramref name="name"/> (the empty string is the default
    /// client), created on first use and then shared. The container disposes it.
    /// </summary>
    /// <param name="name">The client name.</param>
    /// <returns>The client.</returns>
    /// <exception cref="InvalidOperationException">No client is registered under <paramref name="name"/>.</exception>
    DurableStreamClient GetClient(string name);
}

/// <summary>The names registered with <c>AddDurableStreams</c>.</summary>
internal sealed class DurableStreamClientRegistry
{
    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
}

/// <summary>Creates one client per registered name from the named <see cref="DurableStreamClientOptions"/>; disposes them with the container.</summary>
internal sealed class DurableStreamClientFactory : IDurableStreamClientFactory, IDisposable, IAsyncDisposable
{
    private readonly IOptionsMonitor<DurableStreamClientOptions> _options;
    private readonly DurableStreamClientRegistry _registry;
    private readonly ConcurrentDictionary<string, Lazy<DurableStreamClient>> _clients = new(StringComparer.Ordinal);
    private int _disposed;

    public DurableStreamClientFactory(IOptionsMonitor<DurableStreamClientOptions> options, DurableStreamClientRegistry registry)
    {
        _options = options;
        _registry = registry;
    }

    public DurableStreamClient GetClient(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_registry.Names.Contains(name))
        {
            throw new InvalidOperationException(
                name.Length == 0
                    ? "No default Durable Streams client is registered: call services.AddDurableStreams(...)."
                    : $"No Durable Streams client named \"{name}\" is registered: call services.AddDurableStreams(\"{name}\", ...).");
        }
        return _clients.GetOrAdd(name, n => new Lazy<DurableStreamClient>(() => new DurableStreamClient(_options.Get(n)), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated)
            {
                client.Value.Dispose();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }
}
