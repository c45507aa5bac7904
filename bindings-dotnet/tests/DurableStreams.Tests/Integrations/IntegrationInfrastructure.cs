using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
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

/// <summary>Every measurement of the DurableStreams meter (other tests run in parallel: assertions use lower bounds or tags).</summary>
public sealed class Measurements : IDisposable
{
    private readonly MeterListener _listener = new();

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> All { get; } = new();

    public Measurements()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DurableStreamsDiagnostics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            dict[tag.Key] = tag.Value;
        }
        All.Enqueue((instrument.Name, value, dict));
    }

    public void Observe() => _listener.RecordObservableInstruments();

    public double Sum(string instrument, Func<Dictionary<string, object?>, bool>? where = null) =>
        All.Where(m => m.Instrument == instrument && (where?.Invoke(m.Tags) ?? true)).Sum(m => m.Value);

    public int Count(string instrument) => All.Count(m => m.Instrument == instrument);

    public void Dispose() => _listener.Dispose();
}
