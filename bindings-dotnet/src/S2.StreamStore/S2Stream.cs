using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using S2.StreamStore.Diagnostics;
using S2.StreamStore.Interop;

namespace S2.StreamStore;

/// <summary>
/// One stream of a basin: its data plane (tail, appends, reads, fence, trim, sessions). Made by
/// <see cref="Basin.Stream(string)"/>; nothing is sent until an operation runs. Thread-safe.
/// </summary>
public class S2Stream : IDisposable
{
    private readonly NativeStream _native;
    private readonly ILogger _logger;

    internal S2Stream(NativeStream native, ILogger logger, string basin, string name)
    {
        _native = native;
        _logger = logger;
        Basin = basin;
        Name = name;
    }

    /// <summary>The basin's name.</summary>
    public string Basin { get; }

    /// <summary>The stream's name.</summary>
    public string Name { get; }

    /// <summary>The position the next record will get.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<StreamPosition> CheckTailAsync(CancellationToken cancellationToken = default) =>
        Telemetry.Run(_logger, "check_tail", Basin, Name, _native.CheckTail(cancellationToken));

    /// <summary>Appends a batch (1-1000 records, at most 1 MiB metered) atomically.</summary>
    /// <param name="records">The records.</param>
    /// <param name="options">Conditions: <see cref="AppendOptions.MatchSeqNum"/> (else <see cref="SeqNumMismatchException"/>), <see cref="AppendOptions.FencingToken"/> (else <see cref="FencingTokenMismatchException"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<AppendAck> AppendAsync(IReadOnlyList<AppendRecord> records, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        Validation.Batch(records, nameof(records));
        Validation.FencingToken(options?.FencingToken, "options.FencingToken");
        var ack = await Telemetry.Run(_logger, "append", Basin, Name, _native.Append(records, options, cancellationToken)).ConfigureAwait(false);
        Telemetry.AppendedRecords.Add((long)ack.Count);
        return ack;
    }

    /// <summary>Appends one record.</summary>
    /// <param name="record">The record.</param>
    /// <param name="options">Conditions.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AppendAck> AppendAsync(AppendRecord record, AppendOptions? options = null, CancellationToken cancellationToken = default) =>
        AppendAsync(new[] { record ?? throw new ArgumentNullException(nameof(record)) }, options, cancellationToken);

    /// <summary>Reads one batch (at most 1000 records / 1 MiB).</summary>
    /// <param name="options">Where to start and the limits (null: from sequence number 0).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ReadBatch> ReadAsync(ReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var batch = await Telemetry.Run(_logger, "read", Basin, Name, _native.Read(options ?? new ReadOptions(), cancellationToken)).ConfigureAwait(false);
        var result = batch ?? new ReadBatch(Array.Empty<Record>(), null);
        Telemetry.ReadRecords.Add(result.Records.Count);
        return result;
    }

    /// <summary>
    /// Appends a fence command record: later appends must carry <paramref name="fencingToken"/>
    /// (at most 36 bytes; empty removes the fence). <paramref name="options"/> apply to this
    /// append (pass the current token to take over from it).
    /// </summary>
    /// <param name="fencingToken">The new token.</param>
    /// <param name="options">Conditions of the fence itself.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AppendAck> FenceAsync(string fencingToken, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fencingToken);
        Validation.FencingToken(fencingToken, nameof(fencingToken));
        Validation.FencingToken(options?.FencingToken, "options.FencingToken");
        return Telemetry.Run(_logger, "fence", Basin, Name, _native.Fence(fencingToken, options, cancellationToken));
    }

    /// <summary>Appends a trim command record: records before <paramref name="trimPoint"/> are deleted (eventually).</summary>
    /// <param name="trimPoint">The first sequence number to keep.</param>
    /// <param name="options">Conditions of the trim itself.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AppendAck> TrimAsync(ulong trimPoint, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        Validation.FencingToken(options?.FencingToken, "options.FencingToken");
        return Telemetry.Run(_logger, "trim", Basin, Name, _native.Trim(trimPoint, options, cancellationToken));
    }

    /// <summary>Opens a pipelined append session.</summary>
    /// <param name="options">Its limits (null: defaults).</param>
    /// <param name="cancellationToken">Cancels the call (opening sends nothing).</param>
    public ValueTask<AppendSession> OpenAppendSessionAsync(AppendSessionOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new AppendSessionOptions();
        CheckQueued(options.MaxQueuedSubmissions, "options.MaxQueuedSubmissions");
        var json = Json(w =>
        {
            if (options.MaxUnackedBytes is { } bytes)
            {
                w.WriteNumber("max_unacked_bytes", bytes);
            }
            if (options.MaxUnackedBatches is { } batches)
            {
                w.WriteNumber("max_unacked_batches", batches);
            }
        });
        var handle = _native.OpenAppendSession(json);
        var pipeline = new NativePipeline(handle, producer: false, options.MaxQueuedSubmissions, e => Telemetry.SessionFailed(_logger, "append session", Basin, Name, e));
        Log.Opened(_logger, "append session", Basin, Name);
        return new ValueTask<AppendSession>(new AppendSession(pipeline, Basin, Name));
    }

    /// <summary>Opens a producer (batching by linger and size, per-record acknowledgements).</summary>
    /// <param name="options">Its batching, fencing token and match_seq_num (null: defaults).</param>
    /// <param name="cancellationToken">Cancels the call (opening sends nothing).</param>
    public ValueTask<Producer> OpenProducerAsync(ProducerOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new ProducerOptions();
        CheckQueued(options.MaxQueuedSubmissions, "options.MaxQueuedSubmissions");
        Validation.FencingToken(options.FencingToken, "options.FencingToken");
        var json = Json(w =>
        {
            if (options.MaxUnackedBytes is { } bytes)
            {
                w.WriteNumber("max_unacked_bytes", bytes);
            }
            if (options.Linger is { } linger)
            {
                w.WriteNumber("linger_ms", (ulong)Math.Max(0, linger.TotalMilliseconds));
            }
            if (options.MaxBatchRecords is { } records)
            {
                w.WriteNumber("max_batch_records", records);
            }
            if (options.MaxBatchBytes is { } batchBytes)
            {
                w.WriteNumber("max_batch_bytes", batchBytes);
            }
            if (options.FencingToken is { } token)
            {
                w.WriteString("fencing_token", token);
            }
            if (options.MatchSeqNum is { } match)
            {
                w.WriteNumber("match_seq_num", match);
            }
        });
        var handle = _native.OpenProducer(json);
        var pipeline = new NativePipeline(handle, producer: true, options.MaxQueuedSubmissions, e => Telemetry.SessionFailed(_logger, "producer", Basin, Name, e));
        Log.Opened(_logger, "producer", Basin, Name);
        return new ValueTask<Producer>(new Producer(pipeline, Basin, Name));
    }

    /// <summary>Opens a read session.</summary>
    /// <param name="options">Where to start, limits, and whether to retry forever (null: from sequence number 0, following the tail).</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    public async Task<ReadSession> OpenReadSessionAsync(ReadSessionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var handle = await Telemetry.Run(_logger, "read_session", Basin, Name, _native.OpenReadSession(options ?? new ReadSessionOptions(), cancellationToken)).ConfigureAwait(false);
        Log.Opened(_logger, "read session", Basin, Name);
        return new ReadSession(new NativeReadSession(handle), _logger, Basin, Name);
    }

    /// <summary>Frees the native stream handle (sessions opened from it stay usable).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native handle.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _native.Dispose();
        }
    }

    private static void CheckQueued(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, "At least 1.");
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        var bytes = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(bytes);
        return bytes;
    }
}
