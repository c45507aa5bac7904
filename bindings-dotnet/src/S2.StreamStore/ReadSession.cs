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
/// <remarks>
/// While an enumeration hands out a batch's records, the session already reads the next batch
/// (one batch ahead, so reading the network and decoding overlap with the consumer's work). The
/// batch read ahead is delivered next, also to <see cref="ReadBatchAsync"/> after an enumeration
/// stopped early; <see cref="IsCaughtUp"/> and <see cref="NextSequenceNumber"/> count only
/// records delivered.
/// </remarks>
public sealed class ReadSession : IAsyncEnumerable<Record>, IAsyncDisposable
{
    private readonly NativeReadSession _native;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _aheadCancel = new();
    private Task<ReadBatch?>? _ahead;
    private volatile Enumerator? _enumerator;
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

    /// <summary>The last tail the server reported with a delivered batch, if any.</summary>
    public StreamPosition? Tail { get; private set; }

    /// <summary>Whether every record up to the last reported tail has been delivered.</summary>
    public bool IsCaughtUp
    {
        get
        {
            if (Volatile.Read(ref _disposed) != 0 || _enumerator?.Undelivered is not null)
            {
                return false;
            }
            var ahead = Volatile.Read(ref _ahead);
            if (ahead is not null && (!ahead.IsCompleted || ahead.IsCompletedSuccessfully && ahead.Result is { Records.Count: > 0 }))
            {
                // Records read ahead are not delivered yet (or a read is pending: the native state may already count them).
                return false;
            }
            return _native.IsCaughtUp;
        }
    }

    /// <summary>The sequence number the session reads next (where it resumes after a failure); null while unknown.</summary>
    public ulong? NextSequenceNumber
    {
        get
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return null;
            }
            if (_enumerator is { } enumerator && (enumerator.Undelivered ?? (Volatile.Read(ref _ahead) is not null ? enumerator.AfterDelivered : null)) is { } next)
            {
                // The native session is already past the records read ahead.
                return next;
            }
            var native = _native.NextSeqNum;
            return native < 0 ? null : (ulong)native;
        }
    }

    /// <summary>Reads the next batch: its records and the tail, or null when the session ended (a limit was reached).</summary>
    /// <param name="cancellationToken">Cancels the wait; a cancelled wait ends the session.</param>
    public async Task<ReadBatch?> ReadBatchAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            ReadBatch? batch;
            if (cancellationToken.IsCancellationRequested && Volatile.Read(ref _ahead) is not null)
            {
                // As a read started with a cancelled token: the wait read ahead ends too.
                CancelAhead();
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (Interlocked.Exchange(ref _ahead, null) is { } ahead)
            {
                // Read ahead with the session's own token: the caller's cancels it (which ends the session, as any cancelled wait).
                using (cancellationToken.UnsafeRegister(static state => ((ReadSession)state!).CancelAhead(), this))
                {
                    batch = await ahead.ConfigureAwait(false);
                }
            }
            else
            {
                batch = await _native.Next(cancellationToken).ConfigureAwait(false);
            }
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The read was cancelled.", cancellationToken);
        }
    }

    /// <summary>Starts reading the next batch now (nothing is read ahead yet, and the session is open).</summary>
    private void ReadAhead()
    {
        if (Volatile.Read(ref _ahead) is not null || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        try
        {
            Volatile.Write(ref _ahead, _native.Next(_aheadCancel.Token));
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nothing to read ahead.
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            ObserveAhead();
        }
    }

    private void CancelAhead()
    {
        try
        {
            _aheadCancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session was disposed: its pending read ended cancelled already.
        }
    }

    /// <summary>Observes the failure of a batch read ahead that nobody will take (the session was disposed).</summary>
    private void ObserveAhead()
    {
        if (Interlocked.Exchange(ref _ahead, null) is { } ahead)
        {
            _ = ahead.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerator<Record> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerating, 1) != 0)
        {
            throw new InvalidOperationException("A read session has one consumer at a time.");
        }
        var enumerator = new Enumerator(this, cancellationToken);
        _enumerator = enumerator;
        return enumerator;
    }

    /// <summary>
    /// The records batch by batch: a record of the current batch is returned synchronously (no
    /// state machine, no allocation); when a batch arrives the session starts reading the next one,
    /// which is awaited once the current one is done.
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

        /// <summary>The first record of the current batch not handed out yet, if any.</summary>
        internal ulong? Undelivered
        {
            get
            {
                var records = _records;
                var next = _next;
                return next < records.Count ? records[next].SequenceNumber : null;
            }
        }

        /// <summary>The sequence number after the last record handed out, if any.</summary>
        internal ulong? AfterDelivered => _current is { } last ? last.SequenceNumber + 1 : null;

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
                    _session.ReadAhead();
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
                if (_session._enumerator == this)
                {
                    _session._enumerator = null;
                }
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
            // A batch read ahead ends cancelled by the disposal: nobody's to see.
            ObserveAhead();
            _aheadCancel.Dispose();
        }
        return default;
    }
}
