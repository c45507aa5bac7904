using System.Runtime.CompilerServices;
using System.Text.Json;
using global::DurableStreams;

namespace StreamDingo.DurableStreams;

/// <summary>Snapshots on Durable Streams: one companion JSON stream per aggregate (<see cref="DurableStreamsStoreOptions.SnapshotStreamPath"/>), one message per snapshot.</summary>
public sealed class DurableStreamsSnapshotStore : ISnapshotStore
{
    private readonly DurableStreamClient _client;
    private readonly DurableStreamsStoreOptions _options;

    /// <summary>A snapshot store on <paramref name="client"/> (which the caller owns).</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">Paths; the defaults when null.</param>
    public DurableStreamsSnapshotStore(DurableStreamClient client, DurableStreamsStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new DurableStreamsStoreOptions();
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(SnapshotRecord snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var json = SnapshotRecordJson.Serialize(snapshot);
        var body = new byte[json.Length + 2];
        body[0] = (byte)'[';
        json.CopyTo(body, 1);
        body[^1] = (byte)']';
        var stream = _client.GetStream(_options.SnapshotStreamPath(snapshot.StreamId));
        var options = new AppendOptions { ContentType = "application/json" };
        try
        {
            await stream.AppendAsync(body, options, cancellationToken).ConfigureAwait(false);
        }
        catch (StreamNotFoundException)
        {
            await stream.CreateAsync(new CreateStreamOptions { ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
            await stream.AppendAsync(body, options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SnapshotRecord> ReadNewestFirstAsync(string streamId, string stateType, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var records = new List<SnapshotRecord>();
        try
        {
            await using var response = await _client.GetStream(_options.SnapshotStreamPath(streamId)).StreamAsync(new StreamOptions { Offset = Offset.Beginning }, cancellationToken).ConfigureAwait(false);
            await foreach (var chunk in response.ReadBytesAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var message in chunk.Messages ?? [])
                {
                    SnapshotRecord record;
                    try
                    {
                        record = SnapshotRecordJson.Read(message.Span);
                    }
                    catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                    {
                        throw new SnapshotIntegrityException(streamId, 0, $"a stored message of the snapshot stream is not a snapshot ({e.Message})");
                    }
                    if (record.StateType == stateType && record.StreamId == streamId)
                    {
                        records.Add(record);
                    }
                }
            }
        }
        catch (StreamNotFoundException)
        {
            yield break;
        }
        // Stream order is save order: newest is the highest version, then the one saved last.
        foreach (var record in records.Select((r, i) => (r, i)).OrderByDescending(x => x.r.Version).ThenByDescending(x => x.i).Select(x => x.r))
        {
            yield return record;
        }
    }
}
