using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Interop;

namespace DurableStreams;

// StreamResponse: JSON consumers (application/json streams): the messages of each chunk, deserialized.
public partial class StreamResponse
{
    /// <summary>
    /// Reads until up to date (or the end) and returns every JSON message, deserialized with the
    /// client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The messages in stream order.</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    /// <exception cref="DurableStreamException">A message does not deserialize as <typeparamref name="T"/> (<see cref="DurableStreamErrorCode.ParseError"/>).</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual Task<List<T>> ReadAllJsonAsync<T>(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllJsonAsync));
        var options = JsonOptions;
        return ReadAllJsonCore(m => JsonSerializer.Deserialize<T>(m.Span, options)!, cancellationToken);
    }

    /// <summary>Reads until up to date (or the end) and returns every JSON message, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The messages in stream order.</returns>
    public virtual Task<List<T>> ReadAllJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadAllJsonAsync));
        return ReadAllJsonCore(m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, cancellationToken);
    }

    private async Task<List<T>> ReadAllJsonCore<T>(Func<ReadOnlyMemory<byte>, T> deserialize, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            DeserializeInto(items, deserialize, chunk, nameof(ReadAllJsonAsync));
            if (chunk.UpToDate || chunk.Closed)
            {
                break;
            }
        }
        return items;
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual async IAsyncEnumerable<T> ReadJsonAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonAsync));
        var options = JsonOptions;
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            items.Clear();
            DeserializeInto(items, m => JsonSerializer.Deserialize<T>(m.Span, options)!, chunk, nameof(ReadJsonAsync));
            foreach (var item in items)
            {
                yield return item;
            }
        }
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages.</returns>
    public virtual async IAsyncEnumerable<T> ReadJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonAsync));
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            items.Clear();
            DeserializeInto(items, m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, chunk, nameof(ReadJsonAsync));
            foreach (var item in items)
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Iterates over the JSON messages one response at a time, with the checkpoint after each
    /// batch (save it to resume) and whether the batch reached the tail.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches (possibly empty ones, marking up-to-date or the end).</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual async IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonBatchesAsync));
        var options = JsonOptions;
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var items = new List<T>(chunk.Messages?.Length ?? 0);
            DeserializeInto(items, m => JsonSerializer.Deserialize<T>(m.Span, options)!, chunk, nameof(ReadJsonBatchesAsync));
            yield return new JsonBatch<T>(items, chunk.Checkpoint, chunk.UpToDate, chunk.Closed);
        }
    }

    /// <summary>Iterates over the JSON messages one response at a time, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches.</returns>
    public virtual async IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>(JsonTypeInfo<T> jsonTypeInfo, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonBatchesAsync));
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var items = new List<T>(chunk.Messages?.Length ?? 0);
            DeserializeInto(items, m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, chunk, nameof(ReadJsonBatchesAsync));
            yield return new JsonBatch<T>(items, chunk.Checkpoint, chunk.UpToDate, chunk.Closed);
        }
    }

    private static bool IsJsonOrUnknown(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    private JsonSerializerOptions JsonOptions => _stream?.JsonSerializerOptions ?? JsonDefaults.Options;

    private void DeserializeInto<T>(List<T> items, Func<ReadOnlyMemory<byte>, T> deserialize, ChunkData chunk, string method)
    {
        var messages = chunk.Messages;
        if (messages is null && chunk.Data.Length == 0 && IsJsonOrUnknown(ContentType))
        {
            // An empty chunk on a handle that has not learned the content type (e.g. a closed
            // stream read from Offset.Now with long-poll or auto: no response carried one) holds
            // no message whatever the type: nothing to deserialize, nothing to complain about.
            return;
        }
        if (messages is null)
        {
            throw new InvalidOperationException(
                $"{method} needs an application/json stream, but {SafeUrl} has content type \"{ContentType ?? "unknown"}\"; use ReadBytesAsync or ReadTextAsync.");
        }
        for (var i = 0; i < messages.Length; i++)
        {
            try
            {
                items.Add(deserialize(messages[i]));
            }
            catch (JsonException e)
            {
                throw new DurableStreamException(
                    $"Message {i} of the chunk ending at offset {chunk.Offset} of stream {SafeUrl} cannot be deserialized as {typeof(T).Name}: {e.Message}",
                    DurableStreamErrorCode.ParseError,
                    statusCode: null,
                    url: SafeUrl,
                    innerException: e);
            }
        }
    }
}
