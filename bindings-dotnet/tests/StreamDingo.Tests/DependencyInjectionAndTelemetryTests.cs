using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class DependencyInjectionAndTelemetryTests
{
    [Fact]
    public async Task AddStreamDingo_registers_every_service_as_one_configuration()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddStreamDingo(b => b.WithDomain().AddHandler(new MoneyDepositedHandler()).UseInMemory().SnapshotEvery(2));
        services.AddHealthChecks().AddStreamDingo();
        await using var provider = services.BuildServiceProvider();

        var repository = provider.GetRequiredService<IAggregateRepository>();
        await repository.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(1)]);
        Assert.Equal(2, await provider.GetRequiredService<IEventStore>().GetVersionAsync("acc"));
        Assert.NotNull(await provider.GetRequiredService<IEventStore>().GetLatestSnapshotAsync<Account>("acc"));
        Assert.Same(provider.GetRequiredService<EventSourcing>().Replay, provider.GetRequiredService<IEventReplayEngine>());
        Assert.IsType<InMemorySnapshotStore>(provider.GetRequiredService<ISnapshotStore>());
        Assert.Equal("EveryNEvents(2)", provider.GetRequiredService<StreamDingoOptions>().SnapshotPolicy.ToString());
        Assert.NotNull(provider.GetRequiredService<IntegrityVerifier>());

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Status);
    }

    [Fact]
    public async Task The_health_check_is_unhealthy_when_the_store_fails()
    {
        var check = new StreamDingoHealthCheck(new FailingStore(Dingo.InMemory().Store.Context));
        var result = await check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("s", check, HealthStatus.Unhealthy, null) });
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("store is down", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Appends_conflicts_replays_and_snapshots_reach_the_meter_the_activity_source_and_the_logger()
    {
        var streamId = "telemetry-" + Guid.NewGuid().ToString("N");
        var measurements = new ConcurrentDictionary<string, long>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StreamDingoTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        meterListener.Start();

        var activities = new ConcurrentBag<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == StreamDingoTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (Equals(a.GetTagItem("streamdingo.stream_id"), streamId))
                {
                    activities.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(activityListener);

        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var dingo = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseInMemory().Build(loggerFactory);

        await dingo.Aggregates.AppendAsync<Account>(streamId, 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await dingo.Store.AppendEventsAsync(streamId, 1, Dingo.Deposits(1)));
        await dingo.Aggregates.CreateSnapshotAsync<Account>(streamId);
        await dingo.Aggregates.LoadAsync<Account>(streamId);
        meterListener.RecordObservableInstruments();

        Assert.True(measurements.GetValueOrDefault("streamdingo.events.appended") >= 3);
        Assert.True(measurements.GetValueOrDefault("streamdingo.concurrency.conflicts") >= 1);
        Assert.True(measurements.GetValueOrDefault("streamdingo.snapshots.created") >= 1);
        Assert.True(measurements.GetValueOrDefault("streamdingo.events.replayed") >= 3);
        Assert.Contains(activities, a => a.OperationName == "streamdingo.append" && Equals(a.GetTagItem("streamdingo.version"), 3L));
        Assert.Contains(activities, a => a.OperationName == "streamdingo.append" && a.Status == ActivityStatusCode.Error);
        Assert.Contains(activities, a => a.OperationName == "streamdingo.load" && Equals(a.GetTagItem("streamdingo.replay_source"), "FromLatestSnapshot"));
        Assert.Contains(activities, a => a.OperationName == "streamdingo.snapshot");
        Assert.Contains(logs.Messages, m => m.Contains($"Append to stream {streamId} refused: expected version 1, actual 3", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains($"Loaded stream {streamId} as Account at version 3 via FromLatestSnapshot", StringComparison.Ordinal));
    }

    private sealed class FailingStore(EventStoreContext context) : EventStoreBase(context)
    {
        protected override ValueTask<StreamTail> ReadTailAsync(string streamId, CancellationToken cancellationToken) => throw new IOException("store is down");

        protected override ValueTask<WriteOutcome> WriteAsync(string streamId, long expectedVersion, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken) => throw new IOException("store is down");

        public override IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, CancellationToken cancellationToken = default) => throw new IOException("store is down");
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Messages);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => messages.Enqueue(formatter(state, exception));
        }
    }
}
