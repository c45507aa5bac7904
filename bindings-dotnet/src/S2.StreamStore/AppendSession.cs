using S2.StreamStore.Interop;

namespace S2.StreamStore;

/// <summary>
/// A pipelined append session on one stream: batches are sent in submission order without waiting
/// for earlier acknowledgements, memory bounded by <see cref="AppendSessionOptions.MaxUnackedBytes"/>.
/// Thread-safe. Dispose it (or <see cref="CloseAsync"/>) to wait for every acknowledgement.
/// </summary>
public sealed class AppendSession : IAsyncDisposable
{
    private readonly NativePipeline _pipeline;

    internal AppendSession(NativePipeline pipeline, string basin, string stream)
    {
        _pipeline = pipeline;
        Basin = basin;
        Stream = stream;
    }

    /// <summary>The basin.</summary>
    public string Basin { get; }

    /// <summary>The stream.</summary>
    public string Stream { get; }

    /// <summary>
    /// Submits a batch (1-1000 records, at most 1 MiB metered) after every batch submitted before
    /// it. Completes once the session had room for it (so awaiting each call keeps memory bounded)
    /// or, with <paramref name="waitForAck"/>, once it is stored.
    /// </summary>
    /// <param name="records">The batch.</param>
    /// <param name="options">Conditions of this batch (<see cref="AppendOptions.MatchSeqNum"/>, <see cref="AppendOptions.FencingToken"/>).</param>
    /// <param name="waitForAck">Complete only once the batch is acknowledged.</param>
    /// <param name="cancellationToken">Cancels the wait (a batch already submitted is still sent).</param>
    public async ValueTask<AppendReceipt> AppendAsync(IReadOnlyList<AppendRecord> records, AppendOptions? options = null, bool waitForAck = false, CancellationToken cancellationToken = default)
    {
        Validation.Batch(records, nameof(records));
        Validation.FencingToken(options?.FencingToken, "options.FencingToken");
        var pending = await _pipeline.SubmitTrackedAsync(records, options, cancellationToken).ConfigureAwait(false);
        await pending.Accepted.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (waitForAck)
        {
            await pending.Acknowledged.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        return new AppendReceipt(pending);
    }

    /// <summary>Submits one record (see <see cref="AppendAsync(IReadOnlyList{AppendRecord}, AppendOptions?, bool, CancellationToken)"/>).</summary>
    /// <param name="record">The record.</param>
    /// <param name="waitForAck">Complete only once it is acknowledged.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public ValueTask<AppendReceipt> AppendAsync(AppendRecord record, bool waitForAck = false, CancellationToken cancellationToken = default) =>
        AppendAsync(new[] { record ?? throw new ArgumentNullException(nameof(record)) }, null, waitForAck, cancellationToken);

    /// <summary>
    /// Submits a one-record batch with <paramref name="body"/> without allocating managed memory,
    /// if fewer than <see cref="AppendSessionOptions.MaxQueuedSubmissions"/> submissions wait for
    /// room; false otherwise. Failures surface from <see cref="FlushAsync"/> and <see cref="CloseAsync"/>.
    /// </summary>
    /// <param name="body">The body (at most 1 MiB - 8 bytes; copied before returning).</param>
    public bool TrySubmit(ReadOnlySpan<byte> body)
    {
        return _pipeline.TrySubmit(body);
    }

    /// <summary>
    /// Like <see cref="TrySubmit"/> but waits for a free slot instead of returning false; allocation-free,
    /// also when it waits. A wait ends once the queued submissions have all been taken (one
    /// wake-up per drained queue), not at each freed slot.
    /// </summary>
    /// <param name="body">The body.</param>
    /// <param name="cancellationToken">Cancels the wait for a slot.</param>
    public ValueTask SubmitAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        return _pipeline.SubmitAsync(body, cancellationToken);
    }

    /// <summary>Waits until every batch submitted so far is acknowledged; throws the first failure of any submission.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _pipeline.Flush(cancellationToken);

    /// <summary>Waits for every acknowledgement and closes the session; later submissions fail. Throws the first failure.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task CloseAsync(CancellationToken cancellationToken = default) => _pipeline.Close(cancellationToken);

    /// <summary>Closes the session (failures were reported by <see cref="FlushAsync"/>/<see cref="CloseAsync"/> and the logger) and frees it.</summary>
    public ValueTask DisposeAsync() => _pipeline.CloseAndDisposeAsync();
}
