using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Interop;
using DurableStreams.Json;

namespace DurableStreams.Subscriptions;

/// <summary>
/// Messages of one linked stream, read after the subscription's cursor, that a pull worker hands
/// to your code. Its <see cref="Offset"/> is acked only once it succeeded: when you call
/// <see cref="AckAsync"/>, or when the <c>await foreach</c> loop body that received it finishes
/// normally. <see cref="Fail"/> (or leaving the loop by an exception) means it is delivered again.
/// While a batch is outstanding the worker heartbeats, so a slow handler keeps its lease; if the
/// lease is lost anyway, <see cref="LeaseLost"/> is cancelled and the batch no longer counts.
/// </summary>
[DebuggerDisplay("SubscriptionBatch({Stream,nq} up to {Offset}, generation {Generation})")]
public sealed class SubscriptionBatch : IDisposable
{
    private readonly NativeBatch _native;
    private readonly ChunkData _chunk;
    private readonly CancellationTokenSource _leaseLost = new();
    private readonly JsonSerializerOptions _jsonOptions;
    private readonly long _started = Stopwatch.GetTimestamp();
    private int _completed;

    internal SubscriptionBatch(NativeBatch native, JsonSerializerOptions jsonOptions, string subscriptionId, string workerName)
    {
        SubscriptionId = subscriptionId;
        WorkerName = workerName;
        _native = native;
        _chunk = native.Chunk;
        Id = native.Id;
        Stream = native.Stream;
        Generation = native.Generation;
        Offset = Offset.FromTrusted(_chunk.Offset);
        _jsonOptions = jsonOptions;
    }

    internal ulong Id { get; }

    internal string SubscriptionId { get; }

    internal string WorkerName { get; }

    /// <summary>The stream-root-relative path of the stream the messages come from.</summary>
    public string Stream { get; }

    /// <summary>The offset just after these messages: what is acked once the batch succeeds.</summary>
    public Offset Offset { get; }

    /// <summary>The generation of the wake this batch belongs to.</summary>
    public long Generation { get; }

    /// <summary>Cancelled when the worker lost the lease (fenced, or not renewed in time) or stopped before the batch completed: stop working on it; another worker gets it.</summary>
    public CancellationToken LeaseLost => _leaseLost.Token;

    /// <summary>Whether the stream is a JSON stream (its data is a JSON array of messages).</summary>
    public bool IsJson => _chunk.IsJson;

    /// <summary>The number of messages of a JSON stream; -1 for other content types.</summary>
    public long MessageCount => _chunk.MessageCount;

    /// <summary>The raw bytes (for JSON streams, the JSON array text), copied into managed memory on first use.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed before its bytes were read.</exception>
    public ReadOnlyMemory<byte> Data => _chunk.Data;

    /// <summary>The data decoded as UTF-8 text.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public string Text => _chunk.Read(static data => Encoding.UTF8.GetString(data));

    /// <summary>For JSON streams, each message's JSON text (slices of <see cref="Data"/>); null for other content types.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Messages => _chunk.Messages;

    /// <summary>Deserializes every message with source-generated metadata (trimming and NativeAOT safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <returns>The messages in stream order (a JSON <c>null</c> message is a null item).</returns>
    /// <exception cref="InvalidOperationException">The stream is not a JSON stream.</exception>
    /// <exception cref="DurableStreamException">A message cannot be deserialized (<see cref="DurableStreamErrorCode.ParseError"/>; the message names it).</exception>
    public IReadOnlyList<T?> ReadJson<T>(JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        if (!_chunk.IsJson)
        {
            throw new InvalidOperationException($"ReadJson needs an application/json stream, but the batch of {Stream} is not JSON; use Data or Text.");
        }
        try
        {
            return _chunk.Read(data => JsonArrayReader.Deserialize(data, jsonTypeInfo, _chunk.MessageCount));
        }
        catch (JsonException e)
        {
            var which = JsonArrayReader.ElementIndex(e) is { } index ? $"Message {index}" : "A message";
            throw new DurableStreamException(
                $"{which} of the batch of {Stream} ending at offset {Offset} cannot be deserialized as {typeof(T).Name}: {e.Message}",
                DurableStreamErrorCode.ParseError,
                statusCode: null,
                streamUrl: null,
                e);
        }
    }

    /// <summary>Deserializes every message with the client's <see cref="System.Text.Json.JsonSerializerOptions"/> (reflection).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <returns>The messages in stream order.</returns>
    /// <exception cref="InvalidOperationException">The stream is not a JSON stream.</exception>
    /// <exception cref="DurableStreamException">A message cannot be deserialized.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public IReadOnlyList<T?> ReadJson<T>()
    {
        _jsonOptions.MakeReadOnly(populateMissingResolver: true);
        return ReadJson((JsonTypeInfo<T>)_jsonOptions.GetTypeInfo(typeof(T)));
    }

    /// <summary>
    /// Marks the batch processed: the worker records its offset (acked with the next heartbeat or
    /// when the wake is done) and reads on. Only the first of <see cref="AckAsync"/> and
    /// <see cref="Fail"/> counts; after the lease was lost it changes nothing.
    /// </summary>
    /// <param name="cancellationToken">Not used: marking is immediate. Present for API symmetry.</param>
    /// <returns>A completed task.</returns>
    public ValueTask AckAsync(CancellationToken cancellationToken = default)
    {
        Complete(null);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Marks the batch failed: the worker acks the batches before it, releases the wake, waits its
    /// failure backoff and claims again, so these messages are delivered again.
    /// </summary>
    /// <param name="reason">Why (recorded in the worker's <see cref="SubscriptionWorker.LastError"/>).</param>
    public void Fail(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Complete(reason);
    }

    /// <summary>Whether <see cref="AckAsync"/> or <see cref="Fail"/> was called (or the loop completed it).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Frees the native batch; one never completed counts as failed.</summary>
    public void Dispose()
    {
        Complete("the batch was disposed without being acked");
        _native.Dispose();
        _leaseLost.Dispose();
    }

    /// <summary>How long since the worker handed the batch over.</summary>
    internal TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Set once the lease is lost.</summary>
    internal bool Lost { get; private set; }

    internal void MarkLost()
    {
        Lost = true;
        try
        {
            _leaseLost.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: nobody is watching any more.
        }
    }

    /// <summary>Reports the outcome once; false when it was already reported.</summary>
    internal bool Complete(string? failure)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }
        _native.Complete(failure);
        SubscriptionTelemetry.BatchCompleted(this, Lost ? "lost" : failure is null ? "acked" : "failed");
        return true;
    }
}
