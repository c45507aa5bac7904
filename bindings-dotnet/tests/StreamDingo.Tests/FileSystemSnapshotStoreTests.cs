using System.Text;
using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class FileSystemSnapshotStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "streamdingo-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private EventSourcing Build(InMemoryEventStore? shareEventsWith = null)
    {
        var builder = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseFileSystemSnapshots(_directory);
        return (shareEventsWith is null ? builder.UseInMemoryEvents() : builder.UseEventStore(c => new InMemoryEventStore(c, shareEventsWith))).Build();
    }

    [Fact]
    public async Task Snapshots_survive_in_files_and_are_read_newest_first()
    {
        var first = Build();
        await first.Aggregates.AppendAsync<Account>("orders/1", 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        await first.Aggregates.CreateSnapshotAsync<Account>("orders/1");
        await first.Aggregates.AppendAsync<Account>("orders/1", 3, Dingo.Deposits(2));
        await first.Aggregates.CreateSnapshotAsync<Account>("orders/1");

        var store = new FileSystemSnapshotStore(_directory);
        var versions = new List<long>();
        await foreach (var record in store.ReadNewestFirstAsync("orders/1", "Account"))
        {
            versions.Add(record.Version);
        }
        Assert.Equal([5L, 3L], versions);
        Assert.Equal(2, Directory.GetFiles(store.DirectoryOf("orders/1", "Account"), "*.json").Length);

        // Another process over the same files and events.
        var second = Build((InMemoryEventStore)first.Store);
        var loaded = await second.Aggregates.LoadAsync<Account>("orders/1");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 5L, 40m), (loaded.Source, loaded.SnapshotVersion, loaded.State!.Balance));
    }

    [Fact]
    public async Task A_snapshot_file_edited_on_disk_is_detected()
    {
        var dingo = Build();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");
        var file = Directory.GetFiles(new FileSystemSnapshotStore(_directory).DirectoryOf("acc", "Account"), "*.json").Single();
        var text = await File.ReadAllTextAsync(file);
        Assert.Contains("\\u0022Balance\\u0022:20", text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, text.Replace("\\u0022Balance\\u0022:20", "\\u0022Balance\\u0022:99", StringComparison.Ordinal));

        var e = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(3, e.Version);

        await File.WriteAllTextAsync(file, "not json");
        await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
    }

    [Fact]
    public void Snapshot_records_round_trip_through_json_exactly()
    {
        var record = new SnapshotRecord("s", "Account", 7, Encoding.UTF8.GetBytes("{\"name\":\"é\\\"x\",\"n\":1.50}"), new string('a', 64),
            new DateTime(2026, 12, 7, 1, 2, 3, DateTimeKind.Utc).AddTicks(5), new Dictionary<string, string> { ["H1"] = "h1", ["H2"] = "h2" }, new string('b', 64));
        var back = SnapshotRecordJson.Read(SnapshotRecordJson.Serialize(record));
        Assert.Equal(record.State.ToArray(), back.State.ToArray());
        Assert.Equal((record.StreamId, record.StateType, record.Version, record.Hash, record.CreatedAt, record.EventHash), (back.StreamId, back.StateType, back.Version, back.Hash, back.CreatedAt, back.EventHash));
        Assert.Equal(record.HandlerHashes, back.HandlerHashes);
    }
}
