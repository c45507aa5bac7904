using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams;

/// <summary>
/// A position in a stream: an opaque token minted by the server, or one of the two sentinels
/// <see cref="Beginning"/> (<c>-1</c>) and <see cref="Now"/> (<c>now</c>). Always use offsets the
/// server returned (<see cref="StreamResponse.Offset"/>, <see cref="AppendResult.Offset"/>...);
/// never construct or modify one. Equality is ordinal on <see cref="Value"/>.
/// </summary>
[JsonConverter(typeof(OffsetJsonConverter))]
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public sealed class Offset : IEquatable<Offset>
{
    /// <summary>The longest offset accepted, in UTF-8 bytes (as the native core).</summary>
    internal const int MaxLength = 1024;

    /// <summary>The start of the stream (<c>-1</c>).</summary>
    public static Offset Beginning { get; } = new("-1", validated: true);

    /// <summary>The current tail of the stream (<c>now</c>): read only what is appended from here on.</summary>
    public static Offset Now { get; } = new("now", validated: true);

    /// <summary>
    /// An offset from its token, typically one saved from an earlier read.
    /// </summary>
    /// <param name="value">The token exactly as the server sent it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="value"/> is empty, longer than 1024 bytes, or contains a control character
    /// or one of <c>, &amp; = ? /</c> (which the protocol forbids in offsets).
    /// </exception>
    public Offset(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var problem = Validate(value);
        if (problem is not null)
        {
            throw new ArgumentException($"Invalid offset \"{value}\": {problem}.", nameof(value));
        }
        Value = value;
    }

    private Offset(string value, bool validated)
    {
        _ = validated;
        Value = value;
    }

    /// <summary>The token as sent on the wire (before URL encoding).</summary>
    public string Value { get; }

    /// <summary>Whether this is the <c>-1</c> sentinel.</summary>
    public bool IsBeginning => Value == "-1";

    /// <summary>Whether this is the <c>now</c> sentinel.</summary>
    public bool IsNow => Value == "now";

    /// <summary>Parses a token, returning false (instead of throwing) when it is not a valid offset.</summary>
    /// <param name="value">The token.</param>
    /// <param name="offset">The offset, when valid.</param>
    /// <returns>Whether <paramref name="value"/> is a valid offset.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Offset? offset)
    {
        if (value is null || Validate(value) is not null)
        {
            offset = null;
            return false;
        }
        offset = FromTrusted(value);
        return true;
    }

    /// <summary>An offset received from the native core (already a server token or sentinel).</summary>
    internal static Offset FromTrusted(string value) => value switch
    {
        "-1" => Beginning,
        "now" => Now,
        _ => new Offset(value, validated: true),
    };

    private static string? Validate(string value)
    {
        if (value.Length == 0)
        {
            return "an offset cannot be empty";
        }
        if (Encoding.UTF8.GetByteCount(value) > MaxLength)
        {
            return $"an offset cannot be longer than {MaxLength} bytes";
        }
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return $"an offset cannot contain the control character U+{(int)c:X4}";
            }
            if (c is ',' or '&' or '=' or '?' or '/')
            {
                return $"an offset cannot contain '{c}'";
            }
        }
        return null;
    }

    /// <summary>The token (<see cref="Value"/>): its only field, and the form to save and pass back.</summary>
    /// <returns>The token.</returns>
    public override string ToString() => Value;

    /// <summary>The debugger's view: the token, naming the sentinels.</summary>
    private string DebuggerDisplay => IsBeginning ? "Offset { Value = -1 (Beginning) }" : IsNow ? "Offset { Value = now (Now) }" : $"Offset {{ Value = {Value} }}";

    /// <inheritdoc/>
    public bool Equals(Offset? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Offset other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Whether two offsets are the same token.</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(Offset? left, Offset? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Whether two offsets are different tokens.</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Offset? left, Offset? right) => !(left == right);
}

/// <summary>Serializes an <see cref="Offset"/> as its token string.</summary>
public sealed class OffsetJsonConverter : JsonConverter<Offset>
{
    /// <inheritdoc/>
    public override Offset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        var value = reader.GetString();
        return Offset.TryParse(value, out var offset)
            ? offset
            : throw new JsonException($"\"{value}\" is not a valid stream offset.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Offset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.Value);
    }
}
