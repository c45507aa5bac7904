using System.Collections.Concurrent;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using StreamDingo.DurableStreams;
using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>
/// The repository keeps the state it last loaded or wrote, so consecutive appends by one process do
/// not replay the stream; another writer's append makes the store refuse the next one, which drops
/// the kept state and loads the stream again.
/// </summary>
public sealed class RepositoryStateCacheTests
{
    private const string Id = "acc";

    private static (EventSourcing Dingo, LoadCounter Loads) InMemory(Action<EventSourcingBuilder>? configure = null)
    {
        var loads = new LoadCounter();
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(loads));
        var builder = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseInMemory();
        configure?.Invoke(builder);
        return (builder.Build(loggerFactory), loads);
    }

    [Fact]
    public async Task Consecutive_appends_by_one_repository_load_the_stream_once()
    {
        var (dingo, loads) = InMemory();
        var result = await dingo.Aggregates.AppendAsync<Account>(Id, ExpectedVersion.NoStream, Dingo.Opening());
        for (var i = 0; i < 20; i++)
        {
            result = await dingo.Aggregates.AppendAsync<Account>(Id, result.Version, [new MoneyDeposited(i)]);
            result = await dingo.Aggregates.AppendAsync<Account>(Id, ExpectedVersion.Any, [new MoneyDeposited(1)]);
        }
        Assert.Equal((41L, 210m, 41), (result.Version, result.State!.Balance, result.State.Operations));
        Assert.Equal(1, loads.Count(Id)); // the first append loaded the (empty) stream; the other 40 used the kept state

        var loaded = await dingo.Aggregates.LoadAsync<Account>(Id);
        Assert.Equal((result.Version, result.EventHash, result.State), (loaded.Version, loaded.EventHash, loaded.State));
    }

    [Fact]
    public async Task With_AggregateCacheSize_0_every_append_loads_the_stream()
    {
        var (dingo, loads) = InMemory(b => b.Configure(o => o.AggregateCacheSize = 0));
        var result = await dingo.Aggregates.AppendAsync<Account>(Id, ExpectedVersion.NoStream, Dingo.Opening());
        for (var i = 0; i < 5; i++)
        {
            result = await dingo.Aggregates.AppendAsync<Account>(Id, result.Version, [new MoneyDeposited(1)]);
        }
        Assert.Equal((6L, 5m), (result.Version, result.State!.Balance));
        Assert.Equal(6, loads.Count(Id));
    }

    [Fact]
    public async Task After_another_writer_appends_a_stale_expected_version_is_refused_and_the_next_append_loads_the_stream()
    {
        var (dingo, loads) = InMemory();
        var mine = await dingo.Aggregates.AppendAsync<Account>(Id, 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        // Another writer (not this repository) appends at the version the repository keeps.
        await dingo.Store.AppendEventsAsync(Id, mine.Version, [new MoneyDeposited(100)]);

        var stale = await Assert.ThrowsAsync<ConcurrencyException>(async () => await dingo.Aggregates.AppendAsync<Account>(Id, mine.Version, [new MoneyDeposited(1)]));
        Assert.Equal((3L, 4L), (stale.ExpectedVersion, stale.ActualVersion));
        Assert.Equal(1, loads.Count(Id)); // the refusal came from the store, without loading

        var next = await dingo.Aggregates.AppendAsync<Account>(Id, 4, [new MoneyDeposited(1)]);
        Assert.Equal((5L, 121m), (next.Version, next.State!.Balance)); // the other writer's 100 is in the state
        Assert.Equal(2, loads.Count(Id));
    }

    [Fact]
    public async Task After_another_writer_appends_an_append_without_expected_version_reloads_and_succeeds()
    {
        var (dingo, loads) = InMemory();
        await dingo.Aggregates.AppendAsync<Account>(Id, 0, Dingo.Opening());
        await dingo.Store.AppendEventsAsync(Id, 1, Dingo.Deposits(2, 50));

        var result = await dingo.Aggregates.AppendAsync<Account>(Id, ExpectedVersion.Any, [new MoneyDeposited(1)]);
        Assert.Equal((4L, 101m), (result.Version, result.State!.Balance));
        Assert.Equal(2, loads.Count(Id)); // refused at the kept version 1, loaded again, appended at 3
    }

    [Fact]
    public async Task A_handler_that_throws_leaves_the_next_append_with_the_stored_state()
    {
        var (dingo, _) = InMemory();
        await dingo.Aggregates.AppendAsync<Account>(Id, 0, [.. Dingo.Opening(), .. Dingo.Deposits(1, 10)]);
        await Assert.ThrowsAsync<EventHandlerException>(async () => await dingo.Aggregates.AppendAsync<Account>(Id, 2, [new MoneyDeposited(5), new MoneyWithdrawn(1000)]));
        var result = await dingo.Aggregates.AppendAsync<Account>(Id, 2, [new MoneyWithdrawn(4)]);
        Assert.Equal((3L, 6m, 3), (result.Version, result.State!.Balance, result.State.Operations));
    }

    [Fact]
    public async Task The_snapshot_policy_counts_from_the_last_snapshot_across_kept_states()
    {
        var (dingo, loads) = InMemory(b => b.SnapshotEvery(5));
        var result = await dingo.Aggregates.AppendAsync<Account>(Id, 0, Dingo.Opening());
        for (var i = 0; i < 11; i++)
        {
            result = await dingo.Aggregates.AppendAsync<Account>(Id, result.Version, [new MoneyDeposited(1)]);
        }
        var versions = new List<long>();
        await foreach (var snapshot in dingo.Store.Context.Snapshots.ReadNewestFirstAsync<Account>(Id))
        {
            versions.Add(snapshot.Version);
        }
        Assert.Equal([10L, 5L], versions);
        Assert.Equal(1, loads.Count(Id));
    }

    /// <summary>Counts the replay engine's "Loaded stream" log events per stream.</summary>
    private sealed class LoadCounter : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public int Count(string streamId) => _messages.Count(m => m.StartsWith($"Loaded stream {streamId} as ", StringComparison.Ordinal));

        public ILogger CreateLogger(string categoryName) => new Logger(_messages);

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

/// <summary>The kept state against the real servers: the stream is read only when another process appended.</summary>
[Collection(WriteCollection.Name)]
public sealed class RepositoryStateCacheServerTests : ServerTest
{
    public RepositoryStateCacheServerTests(ServerFixture fixture) : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Consecutive_appends_read_nothing_until_another_process_appends(string kind)
    {
        var paths = new DurableStreamsStoreOptions { PathPrefix = $"/streamdingo-tests/{Guid.NewGuid():N}" };
        await using var client = NewClient(kind);
        var dingo = DurableStreamsStores.Deposits(client, paths);
        var store = (DurableStreamsEventStore)dingo.Store;
        var result = await dingo.Aggregates.AppendAsync<Account>("acc", ExpectedVersion.NoStream, Dingo.Opening());
        for (var i = 0; i < 10; i++)
        {
            result = await dingo.Aggregates.AppendAsync<Account>("acc", result.Version, [new MoneyDeposited(1)]);
        }
        Assert.Equal((11L, 10m), (result.Version, result.State!.Balance));
        Assert.Equal(0, store.EnvelopesRead); // without the kept state: 0 + 1 + ... + 10 = 55 envelopes read

        await using var otherClient = NewClient(kind);
        await DurableStreamsStores.Deposits(otherClient, paths).Store.AppendEventsAsync("acc", 11, Dingo.Deposits(3, 100));

        result = await dingo.Aggregates.AppendAsync<Account>("acc", ExpectedVersion.Any, [new MoneyDeposited(1)]);
        Assert.Equal((15L, 311m), (result.Version, result.State!.Balance));
        // Refused at 11: the store reads the 3 events after 11 (is this append among them?), then the repository loads the 14 events once.
        Assert.Equal(3 + 14, store.EnvelopesRead);
    }
}
