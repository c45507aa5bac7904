using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// Several State Protocol messages written together by <see cref="StateWriter.WriteAsync(StateBatch, CancellationToken)"/>:
/// with plain appends in one request (all stored or none, for example a whole snapshot between
/// <c>snapshot-start</c> and <c>snapshot-end</c>), through a producer as consecutive messages.
/// Each event is checked and serialized when it is added.
/// </summary>
public sealed class StateBatch
{
    private readonly ArrayBufferWriter<byte> _messages = new(1024);
    private readonly List<(int Start, int Length)> _bounds = [];
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    /// <summary>How many messages the batch holds.</summary>
    public int Count => _bounds.Count;

    /// <summary>Adds a change, its values serialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="change">The change.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">The change breaks a rule of the protocol; <see cref="ArgumentException.ParamName"/> names the field. Nothing was added.</exception>
    public StateBatch Add<T>(ChangeEvent<T> change, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        _scratch.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_scratch))
        {
            StateEventWriter.Write(writer, change, jsonTypeInfo);
        }
        return Commit();
    }

    /// <summary>Adds a change, its values serialized with <paramref name="options"/> (reflection).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="change">The change.</param>
    /// <param name="options">Serializer options; null for the defaults.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">The change breaks a rule of the protocol. Nothing was added.</exception>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public StateBatch Add<T>(ChangeEvent<T> change, JsonSerializerOptions? options = null) =>
        Add(change, StateEvents.ReflectionTypeInfo<T>(options));

    /// <summary>Adds a control message.</summary>
    /// <param name="control">The control message.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">The offset is empty. Nothing was added.</exception>
    public StateBatch Add(ControlEvent control)
    {
        _scratch.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_scratch))
        {
            StateEventWriter.Write(writer, control);
        }
        return Commit();
    }

    /// <summary>The messages as one JSON array (the body of a single append: the server stores one message per element).</summary>
    internal byte[] ToJsonArray()
    {
        var written = _messages.WrittenSpan;
        var array = new byte[written.Length + Math.Max(_bounds.Count - 1, 0) + 2];
        var at = 0;
        array[at++] = (byte)'[';
        for (var i = 0; i < _bounds.Count; i++)
        {
            if (i > 0)
            {
                array[at++] = (byte)',';
            }
            var (start, length) = _bounds[i];
            written.Slice(start, length).CopyTo(array.AsSpan(at));
            at += length;
        }
        array[at] = (byte)']';
        return array;
    }

    /// <summary>Each message's JSON text, in order.</summary>
    internal IEnumerable<ReadOnlyMemory<byte>> Messages()
    {
        var written = _messages.WrittenMemory;
        foreach (var (start, length) in _bounds)
        {
            yield return written.Slice(start, length);
        }
    }

    // Each event is written to a scratch buffer first, so that one that fails halfway (a value
    // that does not serialize) leaves nothing behind.
    private StateBatch Commit()
    {
        var start = _messages.WrittenCount;
        _messages.Write(_scratch.WrittenSpan);
        _bounds.Add((start, _scratch.WrittenCount));
        return this;
    }
}
