using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams.State;

/// <summary>
/// A position in a state stream exact to the message: a stream checkpoint (offset and cursor)
/// plus how many messages from it are already applied or handled.
/// </summary>
/// <remarks>
/// Servers mint offsets per response, not per message, so a position inside a response is the
/// response's start plus a message count; stream data never changes, so the messages from an
/// offset are always the same ones. Save it with <see cref="ToString"/>
/// (<c>offset[&amp;messages=N][,cursor]</c>: offsets never contain <c>&amp;</c> or <c>,</c>) and
/// read it back with <see cref="Parse"/>; it also serializes to JSON as that string.
/// </remarks>
[JsonConverter(typeof(StateCheckpointJsonConverter))]
public readonly record struct StateCheckpoint
{
    private const string MessagesMarker = "&messages=";
    private readonly long _skipMessages;

    /// <summary>Just before the first message at <paramref name="position"/>, or after <paramref name="skipMessages"/> messages from it.</summary>
    /// <param name="position">The stream position (a JSON stream's checkpoints never skip bytes; the messages its <see cref="StreamCheckpoint.SkipMessages"/> counts, after a piece of a response, are added to <paramref name="skipMessages"/>).</param>
    /// <param name="skipMessages">Messages from <paramref name="position"/> already handled.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="skipMessages"/> is negative.</exception>
    public StateCheckpoint(StreamCheckpoint position, long skipMessages = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skipMessages);
        Position = position with { SkipMessages = 0 };
        _skipMessages = checked(skipMessages + position.SkipMessages);
    }

    /// <summary>The beginning of the stream.</summary>
    public static StateCheckpoint Beginning => new(new StreamCheckpoint(Offset.Beginning));

    /// <summary>The stream position (offset and cursor) the message count starts from.</summary>
    public StreamCheckpoint Position { get; }

    /// <summary>The stream offset (<see cref="Offset.Beginning"/> for <c>default</c>).</summary>
    public Offset Offset => Position.Offset.HasValue ? Position.Offset : Offset.Beginning;

    /// <summary>How many messages from <see cref="Position"/> are already handled.</summary>
    public long SkipMessages => _skipMessages;

    /// <summary>The saved form: <c>offset[&amp;messages=N][,cursor]</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var text = SkipMessages == 0 ? Offset.Value : string.Create(CultureInfo.InvariantCulture, $"{Offset.Value}{MessagesMarker}{SkipMessages}");
        return Position.Cursor is null ? text : $"{text},{Position.Cursor}";
    }

    /// <summary>Reads a checkpoint saved with <see cref="ToString"/> (or a plain offset).</summary>
    /// <param name="value">The saved text.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="value"/> is not a state checkpoint (a corrupted save).</exception>
    public static StateCheckpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParse(value, out var checkpoint)
            ? checkpoint
            : throw new FormatException($"\"{value}\" is not a state checkpoint: expected offset[&messages=N][,cursor] with a valid offset and a message count.");
    }

    /// <summary>Reads a checkpoint saved with <see cref="ToString"/>, returning false when it is malformed.</summary>
    /// <param name="value">The saved text.</param>
    /// <param name="checkpoint">The checkpoint, when valid.</param>
    /// <returns>Whether <paramref name="value"/> is a valid checkpoint.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out StateCheckpoint checkpoint)
    {
        checkpoint = default;
        if (value is null)
        {
            return false;
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        var position = comma < 0 ? value : value[..comma];
        var cursor = comma < 0 ? null : value[(comma + 1)..];
        long skip = 0;
        var marker = position.IndexOf(MessagesMarker, StringComparison.Ordinal);
        if (marker >= 0)
        {
            if (!long.TryParse(position.AsSpan(marker + MessagesMarker.Length), NumberStyles.None, CultureInfo.InvariantCulture, out skip))
            {
                return false;
            }
            position = position[..marker];
        }
        if (!Offset.TryParse(position, out var offset))
        {
            return false;
        }
        checkpoint = new StateCheckpoint(new StreamCheckpoint(offset, cursor), skip);
        return true;
    }

    /// <summary>The position just before the first message at <paramref name="position"/>.</summary>
    /// <param name="position">A stream checkpoint (for example <see cref="ByteChunk.Checkpoint"/>).</param>
    public static implicit operator StateCheckpoint(StreamCheckpoint position) => new(position);

    /// <summary>The position just before the first message at <paramref name="offset"/>.</summary>
    /// <param name="offset">A stream offset.</param>
    public static implicit operator StateCheckpoint(Offset offset) => new(new StreamCheckpoint(offset));
}

/// <summary>Serializes a <see cref="StateCheckpoint"/> as its saved string form.</summary>
public sealed class StateCheckpointJsonConverter : JsonConverter<StateCheckpoint>
{
    /// <inheritdoc/>
    public override StateCheckpoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return StateCheckpoint.TryParse(value, out var checkpoint)
            ? checkpoint
            : throw new JsonException($"\"{value}\" is not a valid state checkpoint.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, StateCheckpoint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
