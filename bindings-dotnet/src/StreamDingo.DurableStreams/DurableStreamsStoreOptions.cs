namespace StreamDingo.DurableStreams;

/// <summary>Where the Durable Streams store keeps its streams.</summary>
public sealed class DurableStreamsStoreOptions
{
    /// <summary>The path under the client's base URL: events of stream <c>id</c> go to <c>{PathPrefix}/events/{id}</c>, its snapshots to <c>{PathPrefix}/snapshots/{id}</c> (the id URL-escaped). <c>/streamdingo</c> by default.</summary>
    public string PathPrefix { get; set; } = "/streamdingo";

    /// <summary>The path of the event stream of <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream id.</param>
    /// <returns>The path.</returns>
    public string EventStreamPath(string streamId) => $"{PathPrefix.TrimEnd('/')}/events/{Uri.EscapeDataString(streamId)}";

    /// <summary>The path of the snapshot stream of <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream id.</param>
    /// <returns>The path.</returns>
    public string SnapshotStreamPath(string streamId) => $"{PathPrefix.TrimEnd('/')}/snapshots/{Uri.EscapeDataString(streamId)}";
}
