using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// Writes State Protocol messages to a JSON stream, one stream message each, in the format of
/// <c>@durable-streams/state</c> 0.3.1 (so its readers and ours materialize the same state).
/// </summary>
/// <remarks>
/// <para>
/// Built on a <see cref="DurableStream"/>, every write is one append request (retried as
/// <see cref="DurableStreamClientOptions.AppendRetry"/> allows) and returns the stream's offset
/// after it. Built on an <see cref="IdempotentProducer"/>, writes are buffered, batched and
/// delivered exactly once, in order; they return null once buffered, and <see cref="FlushAsync"/>
/// waits for delivery and returns the offset.
/// </para>
/// <para>
/// Every event is checked before it is sent: an empty <c>type</c> or <c>key</c>, a missing
/// <c>value</c> (required for all but delete), an empty <c>txid</c>, a <c>timestamp</c> that is not
/// RFC 3339, or an extra header named like a protocol header is an <see cref="ArgumentException"/>
/// whose <see cref="ArgumentException.ParamName"/> is the field; nothing is sent.
/// </para>
/// <para>Thread-safe as the stream and producer are; writes awaited one after another keep their order.</para>
/// </remarks>
public sealed class StateWriter
{
    private readonly DurableStream? _stream;
    private readonly IdempotentProducer? _producer;
    private readonly JsonSerializerOptions? _options;

    /// <summary>Writes with plain appends to <paramref name="stream"/> (an <c>application/json</c> stream).</summary>
    /// <param name="stream">The state stream.</param>
    /// <param name="jsonSerializerOptions">Options for the reflection-based overloads; null for the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.</param>
    public StateWriter(DurableStream stream, JsonSerializerOptions? jsonSerializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _options = jsonSerializerOptions;
    }

    /// <summary>Writes through an idempotent producer: exactly once, in order, batched.</summary>
    /// <param name="producer">A producer of the state stream (created with <see cref="DurableStream.CreateProducer"/>).</param>
    /// <param name="jsonSerializerOptions">Options for the reflection-based overloads; null for the client's.</param>
    public StateWriter(IdempotentProducer producer, JsonSerializerOptions? jsonSerializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        _producer = producer;
        _options = jsonSerializerOptions;
    }

    /// <summary>The stream written to with plain appends; null when writing through a producer.</summary>
    public DurableStream? Stream => _stream;

    /// <summary>The producer written through; null with plain appends.</summary>
    public IdempotentProducer? Producer => _producer;

    /// <summary>Writes a change, its values serialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="change">The change.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the append (or the wait for room in the producer's buffer).</param>
    /// <returns>The stream's offset after the append; null through a producer.</returns>
    /// <exception cref="ArgumentException">The change breaks a rule of the protocol (<see cref="ArgumentException.ParamName"/> names the field).</exception>
    public Task<Offset?> WriteAsync<T>(ChangeEvent<T> change, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StateEventWriter.Write(writer, change, jsonTypeInfo);
        }
        return SendAsync(buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>Writes a change, its values serialized with reflection (the writer's or the client's options).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="change">The change.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    /// <exception cref="ArgumentException">The change breaks a rule of the protocol.</exception>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public Task<Offset?> WriteAsync<T>(ChangeEvent<T> change, CancellationToken cancellationToken = default) =>
        WriteAsync(change, StateEvents.ReflectionTypeInfo<T>(ReflectionOptions), cancellationToken);

    /// <summary>Writes a control message (<see cref="ControlEvent.SnapshotStart"/>, <see cref="ControlEvent.SnapshotEnd"/>, <see cref="ControlEvent.Reset"/>).</summary>
    /// <param name="control">The control message.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    /// <exception cref="ArgumentException">The offset is empty.</exception>
    public Task<Offset?> WriteAsync(ControlEvent control, CancellationToken cancellationToken = default) =>
        SendAsync(StateEvents.Serialize(control), cancellationToken);

    /// <summary>
    /// Writes every message of <paramref name="batch"/>: with plain appends in one request (all
    /// stored or none), through a producer as consecutive messages.
    /// </summary>
    /// <param name="batch">The messages.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    public async Task<Offset?> WriteAsync(StateBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("A state batch to write cannot be empty.", nameof(batch));
        }
        if (_stream is not null)
        {
            var result = await _stream.AppendAsync(batch.ToJsonArray(), JsonAppend(), cancellationToken).ConfigureAwait(false);
            return result.NextOffset;
        }
        foreach (var message in batch.Messages())
        {
            await _producer!.AppendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Writes an <c>insert</c> of <paramref name="value"/> at <paramref name="entityType"/>/<paramref name="key"/> (source-generated metadata).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    public Task<Offset?> InsertAsync<T>(string entityType, string key, T value, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Insert(entityType, key, value), jsonTypeInfo, cancellationToken);

    /// <summary>Writes an <c>insert</c> (reflection-based serialization).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public Task<Offset?> InsertAsync<T>(string entityType, string key, T value, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Insert(entityType, key, value), cancellationToken);

    /// <summary>Writes an <c>update</c> of <paramref name="entityType"/>/<paramref name="key"/> to <paramref name="value"/> (for <c>old_value</c>, write a <see cref="ChangeEvent.Update{T}"/> with <see cref="ChangeEvent{T}.WithOldValue"/>).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    public Task<Offset?> UpdateAsync<T>(string entityType, string key, T value, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Update(entityType, key, value), jsonTypeInfo, cancellationToken);

    /// <summary>Writes an <c>update</c> (reflection-based serialization).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public Task<Offset?> UpdateAsync<T>(string entityType, string key, T value, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Update(entityType, key, value), cancellationToken);

    /// <summary>Writes an <c>upsert</c> of <paramref name="entityType"/>/<paramref name="key"/> to <paramref name="value"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    public Task<Offset?> UpsertAsync<T>(string entityType, string key, T value, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Upsert(entityType, key, value), jsonTypeInfo, cancellationToken);

    /// <summary>Writes an <c>upsert</c> (reflection-based serialization).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public Task<Offset?> UpsertAsync<T>(string entityType, string key, T value, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Upsert(entityType, key, value), cancellationToken);

    /// <summary>Writes a <c>delete</c> of <paramref name="entityType"/>/<paramref name="key"/> (without value, as the npm helper writes it).</summary>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The offset after the append; null through a producer.</returns>
    public Task<Offset?> DeleteAsync(string entityType, string key, CancellationToken cancellationToken = default) =>
        WriteAsync(ChangeEvent.Delete(entityType, key), StateJsonContext.Default.JsonElement, cancellationToken);

    /// <summary>
    /// Waits until everything written is stored. Through a producer, flushes it and returns the
    /// offset after its last acknowledged batch; with plain appends every write is already stored,
    /// and this returns null.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The offset, through a producer.</returns>
    public async Task<Offset?> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_producer is null)
        {
            return null;
        }
        await _producer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return _producer.LastAckedOffset;
    }

    /// <summary>The writer's target: <c>StateWriter { Via = append, Stream = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => _stream is not null
        ? $"StateWriter {{ Via = append, Stream = {_stream} }}"
        : $"StateWriter {{ Via = producer, Producer = {_producer} }}";

    private JsonSerializerOptions ReflectionOptions => _options ?? _stream?.JsonSerializerOptions ?? _producer!.JsonSerializerOptions;

    // The content type is given so that a fresh handle does not send a HEAD first to learn it.
    private static AppendOptions JsonAppend() => new() { ContentType = "application/json" };

    private async Task<Offset?> SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        if (_stream is not null)
        {
            // Wrapped in an array, which the server flattens by one level: exactly one message.
            var body = new byte[message.Length + 2];
            body[0] = (byte)'[';
            message.Span.CopyTo(body.AsSpan(1));
            body[^1] = (byte)']';
            var result = await _stream.AppendAsync(body, JsonAppend(), cancellationToken).ConfigureAwait(false);
            return result.NextOffset;
        }
        await _producer!.AppendAsync(message, cancellationToken).ConfigureAwait(false);
        return null;
    }
}
