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
        return new Enumerator(this, cancellationToken);
    }

    /// <summary>
    /// The records batch by batch: a record of the current batch is returned synchronously (no
    /// state machine, no allocation); the next batch is read only when the current one is done.
    /// </summary>
    private sealed class Enumerator : IAsyncEnumerator<Record>
    {
        private readonly ReadSession _session;
        private readonly CancellationToken _token;
        private IReadOnlyList<Record> _records = Array.Empty<Record>();
        private int _next;
        private bool _ended;
        private int _disposed;
        private Record? _current;

        internal Enumerator(ReadSession session, CancellationToken token)
        {
            _session = session;
            _token = token;
        }

        public Record Current => _current ?? throw new InvalidOperationException("MoveNextAsync has not returned true.");

        public ValueTask<bool> MoveNextAsync()
        {
            if (_next < _records.Count)
            {
                _current = _records[_next++];
                return new ValueTask<bool>(true);
            }
            return _ended ? new ValueTask<bool>(false) : NextBatchAsync();
        }

        private async ValueTask<bool> NextBatchAsync()
        {
            while (true)
            {
                var batch = await _session.ReadBatchAsync(_token).ConfigureAwait(false);
                if (batch is null)
                {
                    _ended = true;
                    _records = Array.Empty<Record>();
                    _next = 0;
                    _current = null;
                    Release(); // as a finished enumeration: another may start
                    return false;
                }
                if (batch.Records.Count > 0)
                {
                    _records = batch.Records;
                    _current = _records[0];
                    _next = 1;
                    return true;
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            Release();
            return default;
        }

        private void Release()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Volatile.Write(ref _session._enumerating, 0);
            }
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
