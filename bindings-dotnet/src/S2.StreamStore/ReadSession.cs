using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using S2.StreamStore.Diagnostics;
using S2.StreamStore.Interop;

namespace S2.StreamStore;

/// <summary>
/// A read session: the stream's records in order as an <see cref="IAsyncEnumerable{T}"/>
/// (<c>await foreach</c>, <c>WithCancellation</c>), following the tail until a limit of its
/// options is reached, resuming after transient failures at the next sequence number. One
/// enumeration at a time. Dispose it to stop.
/// </summary>
public sealed class ReadSession : IAsyncEnumerable<Record>, IAsyncDisposable
{
    private readonly NativeReadSession _native;
    private readonly ILogger _logger;
    private int _enumerating;
    private int _disposed;

    internal ReadSession(NativeReadSession native, ILogger logger, string basin, string stream)
    {
        _native = native;
        _logger = logger;
        Basin = basin;
        Stream = stream;
    }

    /// <summary>The basin.</summary>
    public string Basin { get; }

    /// <summary>The stream.</summary>
    public string Stream { get; }

    /// <summary>The last tail the server reported, if any.</summary>
    public StreamPosition? Tail { get; private set; }

    /// <summary>Whether every record up to the last reported tail has been delivered.</summary>
    public bool IsCaughtUp => Volatile.Read(ref _disposed) == 0 && _native.IsCaughtUp;

    /// <summary>The sequence number the session reads next (where it resumes after a failure); null while unknown.</summary>
    public ulong? NextSequenceNumber
    {
        get
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return null;
            }
            var next = _native.NextSeqNum;
            return next < 0 ? null : (ulong)next;
        }
    }

    /// <summary>Reads the next batch: its records and the tail, or null when the session ended (a limit was reached).</summary>
    /// <param name="cancellationToken">Cancels the wait; a cancelled wait ends the session.</param>
    public async Task<ReadBatch?> ReadBatchAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var batch = await _native.Next(cancellationToken).ConfigureAwait(false);
            if (batch is not null)
            {
                if (batch.Tail is { } tail)
                {
                    Tail = tail;
                }
                Telemetry.ReadRecords.Add(batch.Records.Count);
            }
            return batch;
        }
        catch (S2Exception e)
        {
            Telemetry.SessionFailed(_logger, "read session", Basin, Stream, e);
            throw;
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerator<Record> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerating, 1) != 0)
        {
            throw new InvalidOperationException("A read session has one consumer at a time.");
        }
        return Enumerate(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<Record> Enumerate([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var batch = await ReadBatchAsync(cancellationToken).ConfigureAwait(false);
                if (batch is null)
                {
                    yield break;
                }
                foreach (var record in batch.Records)
                {
                    yield return record;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _enumerating, 0);
        }
    }

    /// <summary>Stops the session (a pending read ends cancelled) and frees it.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _native.Dispose();
        }
        return default;
    }
}
