using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Tests.Integrations;

[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "ecosystem integrations";
}

/// <summary>A typed message for the source-generated round trips.</summary>
public sealed record OrderPlaced(string OrderId, decimal Amount, DateTimeOffset At, IReadOnlyList<string> Items);

[JsonSerializable(typeof(OrderPlaced))]
[JsonSerializable(typeof(MyEvent))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
public sealed partial class IntegrationJsonContext : JsonSerializerContext
{
}

/// <summary>One captured log record.</summary>
public sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> State, Exception? Exception);

/// <summary>A logger provider that keeps every record.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<LogRecord> Records { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner.Records.Enqueue(new LogRecord(category, logLevel, eventId, formatter(state, exception), fields.ToList(), exception));
        }
    }
}
