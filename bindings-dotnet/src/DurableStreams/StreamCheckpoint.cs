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
[JsonConverter(typeof(StreamCheckpointJsonConverter))]
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public sealed class StreamCheckpoint : IEquatable<StreamCheckpoint>
{
    /// <summary>A checkpoint at <paramref name="offset"/> with an optional cursor.</summary>
    /// <param name="offset">The offset to resume from.</param>
    /// <param name="cursor">The server's cursor at that offset (echoed on live requests for CDN collapsing).</param>
    public StreamCheckpoint(Offset offset, string? cursor = null)
    {
        ArgumentNullException.ThrowIfNull(offset);
        Offset = offset;
        Cursor = string.IsNullOrEmpty(cursor) ? null : cursor;
    }

    /// <summary>The offset to resume from.</summary>
    public Offset Offset { get; }

    /// <summary>The server's cursor at <see cref="Offset"/>, when it sent one.</summary>
    public string? Cursor { get; }

    /// <summary>
    /// The checkpoint as one string: the offset, followed by <c>,</c> and the cursor when there
    /// is one (offsets never contain commas).
    /// </summary>
    /// <returns>The serialized checkpoint.</returns>
    public override string ToString() => Cursor is null ? Offset.Value : $"{Offset.Value},{Cursor}";

    /// <summary>The debugger's view: the fields by name (<see cref="ToString"/> is the compact saved form).</summary>
    private string DebuggerDisplay => $"StreamCheckpoint {{ Offset = {Offset.Value}, Cursor = {Cursor ?? "null"} }}";

    /// <summary>Reads a checkpoint written by <see cref="ToString"/>.</summary>
    /// <param name="value">The serialized checkpoint.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> does not start with a valid offset.</exception>
    public static StreamCheckpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        var offsetText = comma < 0 ? value : value[..comma];
        if (!Offset.TryParse(offsetText, out var offset))
        {
            throw new ArgumentException($"\"{value}\" is not a stream checkpoint: \"{offsetText}\" is not a valid offset.", nameof(value));
        }
        return new StreamCheckpoint(offset, comma < 0 ? null : value[(comma + 1)..]);
    }

    /// <summary>Reads a checkpoint written by <see cref="ToString"/>, returning false when it is malformed.</summary>
    /// <param name="value">The serialized checkpoint.</param>
    /// <param name="checkpoint">The checkpoint, when valid.</param>
    /// <returns>Whether <paramref name="value"/> is a valid checkpoint.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out StreamCheckpoint? checkpoint)
    {
        checkpoint = null;
        if (value is null)
        {
            return false;
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        if (!Offset.TryParse(comma < 0 ? value : value[..comma], out var offset))
        {
            return false;
        }
        checkpoint = new StreamCheckpoint(offset, comma < 0 ? null : value[(comma + 1)..]);
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(StreamCheckpoint? other) =>
        other is not null && Offset.Equals(other.Offset) && string.Equals(Cursor, other.Cursor, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StreamCheckpoint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Offset, Cursor is null ? 0 : StringComparer.Ordinal.GetHashCode(Cursor));

    /// <summary>Whether two checkpoints are equal.</summary>
    /// <param name="left">A checkpoint.</param>
    /// <param name="right">Another checkpoint.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(StreamCheckpoint? left, StreamCheckpoint? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Whether two checkpoints differ.</summary>
    /// <param name="left">A checkpoint.</param>
    /// <param name="right">Another checkpoint.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(StreamCheckpoint? left, StreamCheckpoint? right) => !(left == right);
}

/// <summary>Serializes a <see cref="StreamCheckpoint"/> as its <see cref="StreamCheckpoint.ToString"/> string.</summary>
public sealed class StreamCheckpointJsonConverter : JsonConverter<StreamCheckpoint>
{
    /// <inheritdoc/>
    public override StreamCheckpoint? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        var value = reader.GetString();
        return StreamCheckpoint.TryParse(value, out var checkpoint)
            ? checkpoint
            : throw new JsonException($"\"{value}\" is not a valid stream checkpoint.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, StreamCheckpoint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}
