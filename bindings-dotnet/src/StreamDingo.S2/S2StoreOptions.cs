namespace StreamDingo.S2;

/// <summary>Where the S2 store keeps its streams, and how it writes.</summary>
public sealed class S2StoreOptions
{
    /// <summary>The prefix of stream names: events of stream <c>id</c> go to <c>{StreamPrefix}events/{id}</c>, snapshots to <c>{StreamPrefix}snapshots/{id}</c>. <c>streamdingo/</c> by default.</summary>
    public string StreamPrefix { get; set; } = "streamdingo/";

    /// <summary>
    /// A fencing token every append carries (null: none). For single-writer aggregates: once the
    /// stream is fenced with this token (<see cref="S2EventStore.FenceAsync"/>), writers holding another
    /// token are refused by S2, whatever version they expect.
    /// </summary>
    public string? FencingToken { get; set; }

    /// <summary>The name of the event stream of <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream id.</param>
    /// <returns>The S2 stream name.</returns>
    public string EventStreamName(string streamId) => $"{StreamPrefix}events/{streamId}";

    /// <summary>The name of the snapshot stream of <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream id.</param>
    /// <returns>The S2 stream name.</returns>
    public string SnapshotStreamName(string streamId) => $"{StreamPrefix}snapshots/{streamId}";
}
