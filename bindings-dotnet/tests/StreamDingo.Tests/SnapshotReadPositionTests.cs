using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using StreamDingo.DurableStreams;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>
/// Snapshots on Durable Streams record where the store can read their last event from, so a process
/// that never read the stream does not read it from the beginning; a missing, stale or forged
/// position only costs a full read, never a wrong state.
/// </summary>
[Collection(WriteCollection.Name)]
public sealed class SnapshotReadPositionTests : ServerTest
{
    private const string Id = "acc";

    public SnapshotReadPositionTests(ServerFixture fixture) : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static long EnvelopesRead(EventSourcing dingo) => ((DurableStreamsEventStore)dingo.Store).EnvelopesRead;

    // 200 events in appends of 10, a snapshot at 200, then 5 more events: a balance of 2,040.
    private static async Task<Snapshot<Account>> WriteStreamWithSnapshotAsync(EventSourcing writer)
    {
        await writer.Store.AppendEventsAsync(Id, 0, [.. Dingo.Opening(), .. Dingo.Deposits(9)]);
        for (var version = 10; version < 200; version += 10)
        {
            await writer.Store.AppendEventsAsync(Id, version, Dingo.Deposits(10));
        }
        var snapshot = await writer.Aggregates.CreateSnapshotAsync<Account>(Id);
        await writer.Store.AppendEventsAsync(Id, 200, Dingo.Deposits(5));
        return snapshot;
    }

    private static long PositionVersion(string position) => long.Parse(position.AsSpan(0, position.IndexOf(':', StringComparison.Ordinal)), CultureInfo.InvariantCulture);

    private static async Task<List<SnapshotRecord>> StoredSnapshotsAsync(DurableStreamClient client, DurableStreamsStoreOptions paths)
    {
        await using var response = await client.GetStream(paths.SnapshotStreamPath(Id)).StreamAsync(new StreamOptions { Offset = Offset.Beginning });
        var records = new List<SnapshotRecord>();
        await foreach (var chunk in response.ReadBytesAsync())
        {
            records.AddRange((chunk.Messages ?? []).Select(m => SnapshotRecordJson.Read(m.Span)));
        }
        return records;
    }

    private static async Task AppendSnapshotAsync(DurableStreamClient client, DurableStreamsStoreOptions paths, SnapshotRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            SnapshotRecordJson.Write(writer, record);
            writer.WriteEndArray();
        }
        await client.GetStream(paths.SnapshotStreamPath(Id)).AppendAsync(buffer.WrittenMemory);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_fresh_process_loading_from_a_snapshot_starts_reading_at_the_snapshots_position(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var snapshot = await WriteStreamWithSnapshotAsync(DurableStreamsStores.Deposits(client, paths));
        // The position is the furthest offset the writer knew before event 200: after one of its appends of 10.
        Assert.NotNull(snapshot.ReadPosition);
        var after = PositionVersion(snapshot.ReadPosition);
        Assert.InRange(after, 190, 199);
        Assert.Equal(snapshot.ReadPosition, Assert.Single(await StoredSnapshotsAsync(client, paths)).ReadPosition);

        // Another process: its own client and store, which never read the stream.
        await using var otherClient = NewClient(kind);
        var fresh = DurableStreamsStores.Deposits(otherClient, paths);
        var loaded = await fresh.Aggregates.LoadAsync<Account>(Id);
        Assert.Equal((ReplaySource.FromLatestSnapshot, 205L, 200L, 5L, 2040m), (loaded.Source, loaded.Version, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));
        Assert.Equal(205 - after, EnvelopesRead(fresh)); // from the position on, not the 205 events from the beginning

        // The same through the store's API: the latest snapshot, then the events after it.
        var reader = DurableStreamsStores.Deposits(otherClient, paths);
        var latest = await reader.Store.GetLatestSnapshotAsync<Account>(Id);
        var amounts = new List<decimal>();
        await foreach (var e in reader.Store.ReadEventsAsync(Id, latest!.Version + 1))
        {
            amounts.Add(((MoneyDeposited)e).Amount);
        }
        Assert.Equal(5, amounts.Count);
        Assert.Equal(205 - after, EnvelopesRead(reader));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_snapshot_stored_without_a_read_position_is_used_and_the_stream_read_from_the_beginning(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        await WriteStreamWithSnapshotAsync(DurableStreamsStores.Deposits(client, paths));
        // A snapshot as stored before positions were recorded (no readPosition field), saved after the first.
        var old = (await StoredSnapshotsAsync(client, paths))[0] with { ReadPosition = null };
        Assert.DoesNotContain("readPosition", Encoding.UTF8.GetString(SnapshotRecordJson.Serialize(old)), StringComparison.Ordinal);
        await AppendSnapshotAsync(client, paths, old);

        await using var otherClient = NewClient(kind);
        var fresh = DurableStreamsStores.Deposits(otherClient, paths);
        var loaded = await fresh.Aggregates.LoadAsync<Account>(Id);
        Assert.Equal((ReplaySource.FromLatestSnapshot, 205L, 200L, 5L, 2040m), (loaded.Source, loaded.Version, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));
        Assert.Equal(205, EnvelopesRead(fresh));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_read_position_that_does_not_lead_to_the_snapshots_events_is_not_used(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        await WriteStreamWithSnapshotAsync(DurableStreamsStores.Deposits(client, paths));
        var honest = (await StoredSnapshotsAsync(client, paths))[0];
        var position = Assert.IsType<string>(honest.ReadPosition);
        var offset = position[(position.IndexOf(':', StringComparison.Ordinal) + 1)..];

        // The right offset under another version, an offset the server never gave, a version past the snapshot's.
        foreach (var forged in new[] { $"100:{offset}", "150:zz", $"200:{offset}", "garbage" })
        {
            await AppendSnapshotAsync(client, paths, honest with { ReadPosition = forged });
            await using var otherClient = NewClient(kind);
            var fresh = DurableStreamsStores.Deposits(otherClient, paths);
            var loaded = await fresh.Aggregates.LoadAsync<Account>(Id);
            Assert.Equal((205L, 200L, 2040m), (loaded.Version, loaded.SnapshotVersion, loaded.State!.Balance));
            Assert.True(EnvelopesRead(fresh) >= 205, $"position {forged}: read {EnvelopesRead(fresh)} envelopes, so not from the beginning");
        }

        // An honest position does not make a forged snapshot acceptable: its event hash is still checked against event 200.
        await AppendSnapshotAsync(client, paths, honest with { EventHash = new string('a', 64) });
        await using var lastClient = NewClient(kind);
        var e = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await DurableStreamsStores.Deposits(lastClient, paths).Aggregates.LoadAsync<Account>(Id));
        Assert.Equal(200, e.Version);
    }
}
