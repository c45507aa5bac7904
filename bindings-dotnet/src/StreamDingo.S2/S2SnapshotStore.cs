using System.Runtime.CompilerServices;
using System.Text.Json;
using global::S2.StreamStore;

namespace StreamDingo.S2;

/// <summary>Snapshots on S2: one companion stream per aggregate (<see cref="S2StoreOptions.SnapshotStreamName"/>), one record per snapshot.</summary>
public sealed class S2SnapshotStore : ISnapshotStore
{
    private readonly Basin _basin;
    private readonly S2StoreOptions _options;

    /// <summary>A snapshot store in <paramref name="basin"/>.</summary>
    /// <param name="basin">The basin.</param>
    /// <param name="options">Names; the defaults when null.</param>
    public S2SnapshotStore(Basin basin, S2StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(basin);
        _basin = basin;
        _options = options ?? new S2StoreOptions();
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(SnapshotRecord snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var name = _options.SnapshotStreamName(snapshot.StreamId);
        await _basin.EnsureStreamAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        using var stream = _basin.Stream(name);
        await stream.AppendAsync(new AppendRecord(SnapshotRecordJson.Serialize(snapshot)), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SnapshotRecord> ReadNewestFirstAsync(string streamId, string stateType, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var records = new List<SnapshotRecord>();
        using (var stream = _basin.Stream(_options.SnapshotStreamName(streamId)))
        {
            ulong end;
            try
            {
                end = (await stream.CheckTailAsync(cancellationToken).ConfigureAwait(false)).SequenceNumber;
            }
            catch (global::S2.StreamStore.StreamNotFoundException)
            {
                yield break;
            }
            ulong seq = 0;
            while (seq < end)
            {
                var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(seq), Clamp = true }, cancellationToken).ConfigureAwait(false);
                if (batch.Records.Count == 0)
                {
                    break;
                }
                foreach (var record in batch.Records)
                {
                    seq = record.SequenceNumber + 1;
                    if (record.IsCommand)
                    {
                        continue;
                    }
                    SnapshotRecord snapshot;
                    try
                    {
                        snapshot = SnapshotRecordJson.Read(record.Body.Span);
                    }
                    catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                    {
                        throw new SnapshotIntegrityException(streamId, 0, $"record {record.SequenceNumber} of the snapshot stream is not a snapshot ({e.Message})");
                    }
                    if (snapshot.StateType == stateType && snapshot.StreamId == streamId)
                    {
                        records.Add(snapshot);
                    }
                }
            }
        }
        foreach (var record in records.Select((r, i) => (r, i)).OrderByDescending(x => x.r.Version).ThenByDescending(x => x.i).Select(x => x.r))
        {
            yield return record;
        }
    }
}
