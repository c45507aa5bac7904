using S2.StreamStore.Interop;

namespace S2.StreamStore;

/// <summary>
/// A producer on one stream: records are batched by linger and size, sent pipelined, and
/// acknowledged one by one in submission order; with <see cref="ProducerOptions.MatchSeqNum"/>
/// each batch carries the next expected sequence number, so a retried batch is never stored twice.
/// Thread-safe. Dispose it (or <see cref="CloseAsync"/>) to send the rest and wait for it.
/// </summary>
public sealed class Producer : IAsyncDisposable
{
    private readonly NativePipeline _pipeline;

    internal Producer(NativePipeline pipeline, string basin, string stream)
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
    /// Submits one record after every record submitted before it. Completes once the producer had
    /// room for it or, with <paramref name="waitForAck"/>, once stored; the receipt then carries its
    /// sequence number.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="waitForAck">Complete only once it is acknowledged.</param>
    /// <param name="cancellationToken">Cancels the wait (a record already submitted is still sent).</param>
    public async ValueTask<AppendReceipt> AppendAsync(AppendRecord record, bool waitForAck = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        Validation.Batch(new[] { record }, nameof(record));
        var pending = await _pipeline.SubmitTrackedAsync(new[] { record }, null, cancellationToken).ConfigureAwait(false);
        await pending.Accepted.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (waitForAck)
        {
            await pending.Acknowledged.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        return new AppendReceipt(pending);
    }

    /// <summary>
    /// Submits a record with <paramref name="body"/> without allocating managed memory, if fewer
    /// than <see cref="ProducerOptions.MaxQueuedSubmissions"/> submissions wait for room; false
    /// otherwise. Failures surface from <see cref="FlushAsync"/> and <see cref="CloseAsync"/>.
    /// </summary>
    /// <param name="body">The body (copied before returning).</param>
    public bool TrySubmit(ReadOnlySpan<byte> body)
    {
        return _pipeline.TrySubmit(body);
    }

    /// <summary>
    /// Like <see cref="TrySubmit"/> but waits for a free slot instead of returning false; allocation-free,
    /// also when it waits. A wait ends once the queued submissions have all been taken (one
    /// wake-up per drained queue, and the direct path is open again), not at each freed slot.
    /// </summary>
    /// <param name="body">The body.</param>
    /// <param name="cancellationToken">Cancels the wait for a slot.</param>
    public ValueTask SubmitAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        return _pipeline.SubmitAsync(body, cancellationToken);
    }

    /// <summary>Sends the open batch now and waits until every record submitted so far is acknowledged; throws the first failure.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _pipeline.Flush(cancellationToken);

    /// <summary>Flushes, waits for every acknowledgement and closes; later submissions fail. Throws the first failure.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task CloseAsync(CancellationToken cancellationToken = default) => _pipeline.Close(cancellationToken);

    /// <summary>Closes the producer (failures were reported to the logger and the meter) and frees it.</summary>
    public ValueTask DisposeAsync() => _pipeline.CloseAndDisposeAsync();
}
