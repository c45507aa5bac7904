using System.Text;
using S2.StreamStore.Serialization;

namespace S2.StreamStore;

/// <summary>A record read from a stream.</summary>
public class Record
{
    /// <summary>Creates a record (as the library does when reading).</summary>
    /// <param name="sequenceNumber">Its sequence number.</param>
    /// <param name="timestamp">Its timestamp in milliseconds.</param>
    /// <param name="headers">Its headers.</param>
    /// <param name="body">Its body.</param>
    /// <param name="isCommand">Whether it is a command record (fence or trim).</param>
    public Record(ulong sequenceNumber, ulong timestamp, IReadOnlyList<RecordHeader> headers, ReadOnlyMemory<byte> body, bool isCommand)
    {
        SequenceNumber = sequenceNumber;
        Timestamp = timestamp;
        Headers = headers ?? throw new ArgumentNullException(nameof(headers));
        Body = body;
        IsCommand = isCommand;
    }

    /// <summary>Its sequence number.</summary>
    public ulong SequenceNumber { get; }

    /// <summary>Its timestamp in milliseconds since the Unix epoch.</summary>
    public ulong Timestamp { get; }

    /// <summary>Its headers (a command record has one, with an empty name).</summary>
    public IReadOnlyList<RecordHeader> Headers { get; }

    /// <summary>
    /// Its body: managed memory the record owns, valid for as long as the record is kept (also after
    /// the session or read that returned it has moved on or was disposed). Records read together may
    /// share one buffer (slices of at most 64 KiB buffers), so keeping one record keeps its buffer.
    /// </summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Whether it is a command record (fence or trim).</summary>
    public bool IsCommand { get; }

    /// <summary>The command of a command record (<see cref="CommandKind.None"/> for data records).</summary>
    public CommandKind Command
    {
        get
        {
            if (!IsCommand || Headers.Count == 0)
            {
                return CommandKind.None;
            }
            var value = Headers[0].Value.Span;
            return value.SequenceEqual("fence"u8) ? CommandKind.Fence
                : value.SequenceEqual("trim"u8) ? CommandKind.Trim
                : CommandKind.Unknown;
        }
    }

    /// <summary>The fencing token a fence command record sets (its body as text); <c>null</c> for other records.</summary>
    public string? FencingToken => Command == CommandKind.Fence ? Encoding.UTF8.GetString(Body.Span) : null;

    /// <summary>The trim point a trim command record sets (its body, 8 bytes big-endian); <c>null</c> for other records.</summary>
    public ulong? TrimPoint => Command == CommandKind.Trim && Body.Length == 8
        ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(Body.Span)
        : null;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);

    /// <summary>Deserializes the body with the source-generated JSON serializer of <typeparamref name="T"/>, or <paramref name="serializer"/>.</summary>
    /// <typeparam name="T">The body's type.</typeparam>
    /// <param name="serializer">The serializer (e.g. a <see cref="JsonRecordSerializer{T}"/>).</param>
    public T Deserialize<T>(IRecordSerializer<T> serializer) =>
        (serializer ?? throw new ArgumentNullException(nameof(serializer))).Deserialize(Body.Span);

    /// <summary>Deserializes the JSON body with source-generated metadata.</summary>
    /// <typeparam name="T">The body's type.</typeparam>
    /// <param name="typeInfo">The metadata of <typeparamref name="T"/> from a JSON context.</param>
    public T Deserialize<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo) =>
        System.Text.Json.JsonSerializer.Deserialize(Body.Span, typeInfo ?? throw new ArgumentNullException(nameof(typeInfo)))!;

    /// <summary>Deserializes the JSON body with reflection-based metadata (web defaults; not trimming-safe).</summary>
    /// <typeparam name="T">The body's type.</typeparam>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode("Reflection-based JSON; use Deserialize(JsonTypeInfo<T>) for trimming and NativeAOT.")]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Reflection-based JSON; use Deserialize(JsonTypeInfo<T>) for trimming and NativeAOT.")]
    public T Deserialize<T>() => JsonRecordSerializer<T>.Reflection().Deserialize(Body.Span);

    /// <summary>The header values named <paramref name="name"/>, as text.</summary>
    /// <param name="name">The header name.</param>
    public IEnumerable<string> HeaderValues(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name ?? throw new ArgumentNullException(nameof(name)));
        return Headers.Where(h => h.Name.Span.SequenceEqual(bytes)).Select(h => h.ValueText).ToArray();
    }
}

/// <summary>A record of a typed stream: its body deserialized.</summary>
/// <typeparam name="T">The body's type.</typeparam>
public sealed class Record<T> : Record
{
    /// <summary>Wraps a record and its deserialized body.</summary>
    /// <param name="record">The record.</param>
    /// <param name="value">Its body, deserialized.</param>
    public Record(Record record, T value)
        : base((record ?? throw new ArgumentNullException(nameof(record))).SequenceNumber, record.Timestamp, record.Headers, record.Body, record.IsCommand) =>
        Value = value;

    /// <summary>The body, deserialized.</summary>
    public T Value { get; }
}

/// <summary>What a command record does.</summary>
public enum CommandKind
{
    /// <summary>A data record.</summary>
    None,

    /// <summary>A fence: later appends must carry its fencing token.</summary>
    Fence,

    /// <summary>A trim: records before its trim point are deleted.</summary>
    Trim,

    /// <summary>A command this version does not know.</summary>
    Unknown,
}
