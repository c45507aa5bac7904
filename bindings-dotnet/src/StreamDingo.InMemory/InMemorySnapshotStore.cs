using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace StreamDingo.InMemory;

/// <summary>Snapshots in process memory, per stream and state type.</summary>
public sealed class InMemorySnapshotStore : ISnapshotStore
{
    private readonly ConcurrentDictionary<(string StreamId, string StateType), List<SnapshotRecord>> _snapshots = new();

    /// <inheritdoc />
    public ValueTask SaveAsync(SnapshotRecord snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        cancellationToken.ThrowIfCancellationRequested();
        var list = _snapshots.GetOrAdd((snapshot.StreamId, snapshot.StateType), _ => []);
        lock (list)
        {
            list.Add(snapshot);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SnapshotRecord> ReadNewestFirstAsync(string streamId, string stateType, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_snapshots.TryGetValue((streamId, stateType), out var list))
        {
            yield break;
        }
        SnapshotRecord[] ordered;
        lock (list)
        {
            // Newest first: highest version, and among equal versions the one saved last.
            ordered = list.Select((record, index) => (record, index)).OrderByDescending(x => x.record.Version).ThenByDescending(x => x.index).Select(x => x.record).ToArray();
        }
        foreach (var record in ordered)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Replaces the newest stored snapshot as it is, without recomputing its hash: lets tests show that tampering is detected.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="stateType">The state type name.</param>
    /// <param name="change">Produces the replacement.</param>
    public void TamperWithNewest(string streamId, string stateType, Func<SnapshotRecord, SnapshotRecord> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var list = _snapshots[(streamId, stateType)];
        lock (list)
        {
            var newest = list.Select((record, index) => (record, index)).OrderByDescending(x => x.record.Version).ThenByDescending(x => x.index).First().index;
            list[newest] = change(list[newest]);
        }
    }
}
