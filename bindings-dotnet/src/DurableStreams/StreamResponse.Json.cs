using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Interop;
using DurableStreams.Json;

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
    /// <returns>The messages in stream order (a JSON <c>null</c> message is a null item).</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    /// <exception cref="DurableStreamException">A message does not deserialize as <typeparamref name="T"/> (<see cref="DurableStreamErrorCode.ParseError"/>).</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual Task<List<T?>> ReadAllJsonAsync<T>(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllJsonAsync));
        return ReadAllJsonCore(ReflectionTypeInfo<T>(), cancellationToken);
    }

    /// <summary>Reads until up to date (or the end) and returns every JSON message, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The messages in stream order (a JSON <c>null</c> message is a null item).</returns>
    public virtual Task<List<T?>> ReadAllJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadAllJsonAsync));
        return ReadAllJsonCore(jsonTypeInfo, cancellationToken);
    }

    private async Task<List<T?>> ReadAllJsonCore<T>(JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        List<T?>? items = null;
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var batch = Deserialize(typeInfo, chunk, nameof(ReadAllJsonAsync));
            if (items is null)
            {
                items = batch; // usually the only one: no copy
            }
            else
            {
                items.AddRange(batch);
            }
            if (chunk.UpToDate || chunk.Closed)
            {
                break;
            }
        }
        return items ?? [];
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages (a JSON <c>null</c> message is a null item).</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual IAsyncEnumerable<T?> ReadJsonAsync<T>(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonAsync));
        return ReadJsonCore(ReflectionTypeInfo<T>(), cancellationToken);
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages (a JSON <c>null</c> message is a null item).</returns>
    public virtual IAsyncEnumerable<T?> ReadJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonAsync));
        return ReadJsonCore(jsonTypeInfo, cancellationToken);
    }

    private async IAsyncEnumerable<T?> ReadJsonCore<T>(JsonTypeInfo<T> typeInfo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            // Each chunk's messages are deserialized in one call, then yielded.
            foreach (var item in Deserialize(typeInfo, chunk, nameof(ReadJsonAsync)))
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Iterates over the JSON messages one response (or piece of a large response, see
    /// <see cref="StreamOptions.MaxChunkBytes"/>) at a time, with the checkpoint after each batch
    /// (save it to resume) and whether the batch reached the tail.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches (possibly empty ones, marking up-to-date or the end).</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonBatchesAsync));
        return ReadJsonBatchesCore(ReflectionTypeInfo<T>(), cancellationToken);
    }

    /// <summary>Iterates over the JSON messages one response (or piece of one) at a time, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches.</returns>
    public virtual IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>(JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonBatchesAsync));
        return ReadJsonBatchesCore(jsonTypeInfo, cancellationToken);
    }

    private async IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesCore<T>(JsonTypeInfo<T> typeInfo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            // A new list per batch: the caller may keep it.
            var items = Deserialize(typeInfo, chunk, nameof(ReadJsonBatchesAsync));
            yield return new JsonBatch<T>(items, chunk.Checkpoint, chunk.UpToDate) { StreamClosed = chunk.Closed };
        }
    }

    /// <summary>The metadata of <typeparamref name="T"/> from the client's (reflection-based) options.</summary>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    private JsonTypeInfo<T> ReflectionTypeInfo<T>()
    {
        var options = JsonOptions;
        // Exactly what the first JsonSerializer call with these options would do to them.
        options.MakeReadOnly(populateMissingResolver: true);
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }

    private static bool IsJsonOrUnknown(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    private JsonSerializerOptions JsonOptions => _stream?.JsonSerializerOptions ?? JsonDefaults.Options;

    private List<T?> Deserialize<T>(JsonTypeInfo<T> typeInfo, ChunkData chunk, string method)
    {
        if (!chunk.IsJson)
        {
            if (chunk.Length == 0 && IsJsonOrUnknown(ContentType))
            {
                // An empty chunk on a handle that has not learned the content type (e.g. a closed
                // stream read from Offset.Now with long-poll or auto: no response carried one) holds
                // no message whatever the type: nothing to deserialize, nothing to complain about.
                return [];
            }
            throw new InvalidOperationException(
                $"{method} needs an application/json stream, but {SafeUrl} has content type \"{ContentType ?? "unknown"}\"; use ReadBytesAsync or ReadTextAsync.");
        }
        try
        {
            // Straight from the core's buffer: no managed copy of the body.
            return chunk.Read(data => JsonArrayReader.Deserialize(data, typeInfo, chunk.MessageCount));
        }
        catch (JsonException e)
        {
            var which = JsonArrayReader.ElementIndex(e) is { } index ? $"Message {index}" : "A message";
            throw new DurableStreamException(
                $"{which} of the chunk ending at offset {chunk.Offset} of stream {SafeUrl} cannot be deserialized as {typeof(T).Name}: {e.Message}",
                DurableStreamErrorCode.ParseError,
                statusCode: null,
                streamUrl: SafeUrl,
                innerException: e);
        }
    }
}
