using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams;

/// <summary>
/// Where to resume a read: the <see cref="Offset"/> just past the data consumed and the server's
/// <see cref="Cursor"/> at that point. Save it as you consume (<see cref="ToString"/> gives a
/// compact string, <see cref="Parse"/> reads it back) and pass it to
/// <see cref="StreamOptions.Checkpoint"/> to continue exactly where you left off.
/// </summary>
/// <param name="Offset">The offset to resume from.</param>
/// <param name="Cursor">The server's cursor at that offset (echoed on live requests for CDN collapsing).</param>
[JsonConverter(typeof(StreamCheckpointJsonConverter))]
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public readonly record struct StreamCheckpoint(Offset Offset, string? Cursor = null)
{
    /// <summary>The offset to resume from.</summary>
    public Offset Offset { get; init; } = Offset;

    /// <summary>The server's cursor at <see cref="Offset"/>, when it sent one (an empty cursor is stored as null).</summary>
    public string? Cursor { get; init; } = string.IsNullOrEmpty(Cursor) ? null : Cursor;

    /// <summary>
    /// The bytes from <see cref="Offset"/> already delivered: non-zero only after a piece of a
    /// response delivered in pieces (<see cref="ByteChunk.IsPartial"/>), whose end has no offset of
    /// its own (the server mints offsets per response). A read resumed from this checkpoint
    /// requests <see cref="Offset"/> again and skips these bytes, so it continues exactly after
    /// the piece. Not negative.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long SkipBytes
    {
        get => _skipBytes;
        init => _skipBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(SkipBytes), value, "SkipBytes cannot be negative.");
    }

    private readonly long _skipBytes;

    /// <summary>
    /// What <see cref="SkipBytes"/> is for byte streams, for a JSON stream: the messages from
    /// <see cref="Offset"/> already delivered, non-zero only after a piece of a JSON response
    /// delivered in pieces (pieces of JSON responses hold whole messages). A read resumed from
    /// this checkpoint requests <see cref="Offset"/> again and skips these messages. Not
    /// negative; a checkpoint never skips both bytes and messages.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long SkipMessages
    {
        get => _skipMessages;
        init => _skipMessages = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(SkipMessages), value, "SkipMessages cannot be negative.");
    }

    private readonly long _skipMessages;

    /// <summary>
    /// The checkpoint as one string: the offset, then <c>&amp;skip=</c> and <see cref="SkipBytes"/>
    /// when they are not 0 (<c>&amp;messages=</c> and <see cref="SkipMessages"/> for a JSON
    /// stream), then <c>,</c> and the cursor when there is one (offsets never contain
    /// <c>&amp;</c> or <c>,</c>). This is the form to save; <see cref="Parse"/> reads it back. (A
    /// deliberate difference from a generated record <c>ToString</c>, which would print the field
    /// names; the debugger shows those.)
    /// </summary>
    /// <returns>The serialized checkpoint.</returns>
    public override string ToString()
    {
        var position = (SkipBytes, SkipMessages) switch
        {
            (0, 0) => Offset.Value,
            (0, var messages) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Offset.Value}{MessagesMarker}{messages}"),
            (var bytes, _) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Offset.Value}{SkipMarker}{bytes}"),
        };
        return Cursor is null ? position : $"{position},{Cursor}";
    }

    private const string SkipMarker = "&skip=";
    private const string MessagesMarker = "&messages=";

    /// <summary>The debugger's view: the fields by name (<see cref="ToString"/> is the compact saved form).</summary>
    private string DebuggerDisplay => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"StreamCheckpoint {{ Offset = {Offset.Value}, Cursor = {Cursor ?? "null"}, SkipBytes = {SkipBytes}, SkipMessages = {SkipMessages} }}");

    /// <summary>Reads a checkpoint written by <see cref="ToString"/> (an offset alone is a checkpoint without cursor).</summary>
    /// <param name="value">The serialized checkpoint.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> does not start with a valid offset.</exception>
    public static StreamCheckpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryParse(value, out var checkpoint))
        {
            return checkpoint;
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        var offsetText = comma < 0 ? value : value[..comma];
        throw new ArgumentException($"\"{value}\" is not a stream checkpoint: \"{offsetText}\" is not a valid offset.", nameof(value));
    }

    /// <summary>Reads a checkpoint written by <see cref="ToString"/>, returning false when it is malformed.</summary>
    /// <param name="value">The serialized checkpoint.</param>
    /// <param name="checkpoint">The checkpoint, when valid; <c>default</c> otherwise.</param>
    /// <returns>Whether <paramref name="value"/> is a valid checkpoint.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out StreamCheckpoint checkpoint)
    {
        checkpoint = default;
        if (value is null)
        {
            return false;
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        var position = comma < 0 ? value : value[..comma];
        if (!TryTakeCount(ref position, SkipMarker, out var skipBytes) || !TryTakeCount(ref position, MessagesMarker, out var skipMessages))
        {
            return false;
        }
        if (!Offset.TryParse(position, out var offset))
        {
            return false;
        }
        checkpoint = new StreamCheckpoint(offset, comma < 0 ? null : value[(comma + 1)..]) { SkipBytes = skipBytes, SkipMessages = skipMessages };
        return true;
    }

    /// <summary>Takes <c>marker</c> and the count after it off the end of <paramref name="position"/>, if there; false when the count is malformed.</summary>
    private static bool TryTakeCount(ref string position, string marker, out long count)
    {
        count = 0;
        var at = position.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return true;
        }
        if (!long.TryParse(position.AsSpan(at + marker.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count))
        {
            return false;
        }
        position = position[..at];
        return true;
    }

    /// <summary>A checkpoint at <paramref name="offset"/> without cursor.</summary>
    /// <param name="offset">The offset.</param>
    public static implicit operator StreamCheckpoint(Offset offset) => new(offset);

    /// <summary>A checkpoint from its saved form (<see cref="Parse"/>): an offset, optionally followed by <c>,</c> and a cursor.</summary>
    /// <param name="offset">The saved checkpoint or offset.</param>
    /// <exception cref="ArgumentException">The text does not start with a valid offset.</exception>
    public static explicit operator StreamCheckpoint(string offset) => Parse(offset);
}

/// <summary>Serializes a <see cref="StreamCheckpoint"/> as its <see cref="StreamCheckpoint.ToString"/> string.</summary>
public sealed class StreamCheckpointJsonConverter : JsonConverter<StreamCheckpoint>
{
    /// <inheritdoc/>
    public override StreamCheckpoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return StreamCheckpoint.TryParse(value, out var checkpoint)
            ? checkpoint
            : throw new JsonException($"\"{value}\" is not a valid stream checkpoint.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, StreamCheckpoint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
