using System.Buffers;
using System.Text;
using System.Text.Json;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using StreamDingo.DurableStreams;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>
/// The limits of the Durable Streams store's expected-version check, as docs/streamdingo.md states
/// them: a writer that appends to an aggregate's stream without the store (no <c>Stream-Seq</c>, or
/// a seq outside the store's scheme), against both servers.
/// </summary>
[Collection(WriteCollection.Name)]
public sealed class ForeignWriterTests : ServerTest
{
    private const string Id = "acc";

    public ForeignWriterTests(ServerFixture fixture) : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    // A well-formed next event, hashed onto the stream's tail: what a foreign writer that knows the envelope format would write.
    private static byte[] NextEnvelope(long version, string previousHash, decimal amount)
    {
        var envelope = new EventEnvelope(Id, version, "MoneyDeposited", DateTimeOffset.UtcNow, Guid.NewGuid(), Encoding.UTF8.GetBytes($"{{\"Amount\":{amount}}}"), previousHash, "");
        envelope = envelope with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, envelope) };
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            EventEnvelopeJson.Write(writer, envelope);
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static async Task<List<long>> StoredVersionsAsync(DurableStreamClient client, DurableStreamsStoreOptions paths)
    {
        await using var response = await client.GetStream(paths.EventStreamPath(Id)).StreamAsync(new StreamOptions { Offset = Offset.Beginning });
        var versions = new List<long>();
        await foreach (var chunk in response.ReadBytesAsync())
        {
            foreach (var message in chunk.Messages ?? [])
            {
                using var json = JsonDocument.Parse(message);
                versions.Add(json.RootElement.TryGetProperty("version", out var v) ? v.GetInt64() : -1);
            }
        }
        return versions;
    }

    private static async Task<string> TailHashAsync(EventSourcing dingo)
    {
        var hash = EventHashChain.GenesisHash;
        await foreach (var envelope in dingo.Store.ReadEnvelopesAsync(Id))
        {
            hash = envelope.Hash;
        }
        return hash;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_plain_append_without_Stream_Seq_is_not_checked_and_a_store_that_did_not_see_it_breaks_the_version_numbering(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var store = DurableStreamsStores.Deposits(client, paths);
        await store.Store.AppendEventsAsync(Id, 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);

        // A foreign writer appends a valid version 4 without Stream-Seq: the server does not compare anything.
        await using var foreignClient = NewClient(kind);
        await foreignClient.GetStream(paths.EventStreamPath(Id)).AppendAsync(NextEnvelope(4, await TailHashAsync(store), 500));

        // The store last saw version 3 (its own append) and appends at 3 in one request: the server accepts it.
        var appended = await store.Store.AppendEventsAsync(Id, 3, [new MoneyDeposited(7)]);
        Assert.Equal((4L, false), (appended.LastVersion, appended.Duplicate));
        Assert.Equal([1L, 2L, 3L, 4L, 4L], await StoredVersionsAsync(client, paths));

        // Readers report the second version 4 (the store's) as an integrity failure, never as event 5.
        await using var readerClient = NewClient(kind);
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await DurableStreamsStores.Deposits(readerClient, paths).Aggregates.LoadAsync<Account>(Id));
        Assert.Equal(5, e.Version);
        Assert.Contains("says 4", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_plain_append_of_a_valid_next_event_is_taken_as_an_event_by_a_store_that_catches_up(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var writer = DurableStreamsStores.Deposits(client, paths);
        await writer.Store.AppendEventsAsync(Id, 0, Dingo.Opening());
        await using var foreignClient = NewClient(kind);
        await foreignClient.GetStream(paths.EventStreamPath(Id)).AppendAsync(NextEnvelope(2, await TailHashAsync(writer), 500));

        // The hash chain is integrity, not authentication: a well-formed next event is indistinguishable from the store's own.
        await using var otherClient = NewClient(kind);
        var other = DurableStreamsStores.Deposits(otherClient, paths);
        var refused = await Assert.ThrowsAsync<ConcurrencyException>(async () => await other.Store.AppendEventsAsync(Id, 1, [new MoneyDeposited(1)]));
        Assert.Equal(2, refused.ActualVersion); // a store that catches up sees the foreign event as version 2
        await other.Store.AppendEventsAsync(Id, 2, [new MoneyDeposited(1)]);
        var loaded = await other.Aggregates.LoadAsync<Account>(Id);
        Assert.Equal((3L, 501m), (loaded.Version, loaded.State!.Balance));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_plain_append_that_is_not_an_envelope_is_reported_by_readers_and_by_a_store_catching_up(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var writer = DurableStreamsStores.Deposits(client, paths);
        await writer.Store.AppendEventsAsync(Id, 0, Dingo.Opening());
        await using var foreignClient = NewClient(kind);
        await foreignClient.GetStream(paths.EventStreamPath(Id)).AppendAsync("[{\"hello\":1}]");

        await using var otherClient = NewClient(kind);
        var other = DurableStreamsStores.Deposits(otherClient, paths);
        var tail = await Assert.ThrowsAsync<EventIntegrityException>(async () => await other.Store.GetVersionAsync(Id));
        Assert.Contains("not an event envelope", tail.Message, StringComparison.Ordinal);
        var load = await Assert.ThrowsAsync<EventIntegrityException>(async () => await other.Aggregates.LoadAsync<Account>(Id));
        Assert.Contains("not an event envelope", load.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_foreign_append_with_a_higher_Stream_Seq_makes_the_server_refuse_the_stores_appends_up_to_that_seq(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var store = DurableStreamsStores.Deposits(client, paths);
        await store.Store.AppendEventsAsync(Id, 0, [.. Dingo.Opening(), .. Dingo.Deposits(1)]);

        // A valid version 3, but with Stream-Seq 10 (another numbering): the server now refuses every seq up to 10.
        await using var foreignClient = NewClient(kind);
        await foreignClient.GetStream(paths.EventStreamPath(Id)).AppendAsync(NextEnvelope(3, await TailHashAsync(store), 500), new AppendOptions { Seq = "00000000000000000010" });

        var stale = await Assert.ThrowsAsync<ConcurrencyException>(async () => await store.Store.AppendEventsAsync(Id, 2, [new MoneyDeposited(1)]));
        Assert.Equal((2L, 3L), (stale.ExpectedVersion, stale.ActualVersion));
        // At the true tail (version 3, seq 4) the server still refuses: the store names the cause instead of reporting a conflict.
        var locked = await Assert.ThrowsAsync<StreamDingoException>(async () => await store.Store.AppendEventsAsync(Id, 3, [new MoneyDeposited(1)]));
        Assert.Contains("outside StreamDingo's scheme", locked.Message, StringComparison.Ordinal);
        Assert.Equal([1L, 2L, 3L], await StoredVersionsAsync(client, paths)); // nothing of the refused appends

        // Versions 4..10 arrive without Stream-Seq; the store's append at version 10 carries seq 11, above the foreign 10, and is accepted again.
        var reader = DurableStreamsStores.Deposits(client, paths);
        for (var version = 4; version <= 10; version++)
        {
            await foreignClient.GetStream(paths.EventStreamPath(Id)).AppendAsync(NextEnvelope(version, await TailHashAsync(reader), 1));
        }
        var after = await store.Store.AppendEventsAsync(Id, 10, [new MoneyDeposited(1)]);
        Assert.Equal(11, after.LastVersion);
        Assert.Equal(Enumerable.Range(1, 11).Select(v => (long)v), await StoredVersionsAsync(client, paths));
    }
}
