using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams;

/// <summary>
/// A position in a stream: an opaque token minted by the server, or one of the two sentinels
/// <see cref="Beginning"/> (<c>-1</c>) and <see cref="Now"/> (<c>now</c>). Always use offsets the
/// server returned (<see cref="StreamResponse.Offset"/>, <see cref="AppendResult.NextOffset"/>...);
/// never construct or modify one. Equality is ordinal on <see cref="Value"/>; the order is the
/// protocol's (tokens of one stream sort lexicographically), with <c>default</c> first, then
/// <see cref="Beginning"/>, the tokens, and <see cref="Now"/> last.
/// </summary>
[JsonConverter(typeof(OffsetJsonConverter))]
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public readonly struct Offset : IEquatable<Offset>, IComparable<Offset>
{
    /// <summary>The longest offset accepted, in UTF-8 bytes (as the native core).</summary>
    internal const int MaxLength = 1024;

    private const string BeginningToken = "-1";
    private const string NowToken = "now";

    /// <summary>The start of the stream (<c>-1</c>).</summary>
    public static readonly Offset Beginning = new(BeginningToken, validated: true);

    /// <summary>The current tail of the stream (<c>now</c>): read only what is appended from here on.</summary>
    public static readonly Offset Now = new(NowToken, validated: true);

    private readonly string? _value;

    /// <summary>An offset from its token, typically one saved from an earlier read.</summary>
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
        _value = value;
    }

    private Offset(string value, bool validated)
    {
        _ = validated;
        _value = value;
    }

    /// <summary>The token as sent on the wire (before URL encoding); empty for <c>default(Offset)</c>.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether this offset holds a token (false only for <c>default(Offset)</c>).</summary>
    public bool HasValue => _value is not null;

    /// <summary>Whether this is the <c>-1</c> sentinel.</summary>
    public bool IsBeginning => _value == BeginningToken;

    /// <summary>Whether this is the <c>now</c> sentinel.</summary>
    public bool IsNow => _value == NowToken;

    /// <summary>The offset to send: <c>default(Offset)</c> means the start of the stream.</summary>
    internal string WireValue => _value ?? BeginningToken;

    /// <summary>Parses a token, returning false (instead of throwing) when it is not a valid offset.</summary>
    /// <param name="value">The token.</param>
    /// <param name="offset">The offset, when valid; <c>default</c> otherwise.</param>
    /// <returns>Whether <paramref name="value"/> is a valid offset.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out Offset offset)
    {
        if (value is null || Validate(value) is not null)
        {
            offset = default;
            return false;
        }
        offset = FromTrusted(value);
        return true;
    }

    /// <summary>An offset received from the native core (already a server token or sentinel).</summary>
    internal static Offset FromTrusted(string value) => value switch
    {
        BeginningToken => Beginning,
        NowToken => Now,
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
    private string DebuggerDisplay =>
        !HasValue ? "Offset { default }" : IsBeginning ? "Offset { Value = -1 (Beginning) }" : IsNow ? "Offset { Value = now (Now) }" : $"Offset {{ Value = {Value} }}";

    /// <inheritdoc/>
    public bool Equals(Offset other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Offset other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>
    /// Orders offsets: <c>default</c>, then <see cref="Beginning"/>, then server tokens (ordinal,
    /// which is the protocol's order within one stream), then <see cref="Now"/>.
    /// </summary>
    /// <param name="other">The offset to compare with.</param>
    /// <returns>Negative, zero or positive as this offset is before, equal to or after <paramref name="other"/>.</returns>
    public int CompareTo(Offset other)
    {
        var rank = Rank.CompareTo(other.Rank);
        return rank != 0 ? rank : string.CompareOrdinal(_value, other._value);
    }

    private int Rank => !HasValue ? 0 : IsBeginning ? 1 : IsNow ? 3 : 2;

    /// <summary>Whether two offsets are the same token.</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(Offset left, Offset right) => left.Equals(right);

    /// <summary>Whether two offsets are different tokens.</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Offset left, Offset right) => !left.Equals(right);

    /// <summary>Whether <paramref name="left"/> comes before <paramref name="right"/> (see <see cref="CompareTo"/>).</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>The comparison.</returns>
    public static bool operator <(Offset left, Offset right) => left.CompareTo(right) < 0;

    /// <summary>Whether <paramref name="left"/> comes after <paramref name="right"/> (see <see cref="CompareTo"/>).</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>The comparison.</returns>
    public static bool operator >(Offset left, Offset right) => left.CompareTo(right) > 0;

    /// <summary>Whether <paramref name="left"/> is not after <paramref name="right"/> (see <see cref="CompareTo"/>).</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>The comparison.</returns>
    public static bool operator <=(Offset left, Offset right) => left.CompareTo(right) <= 0;

    /// <summary>Whether <paramref name="left"/> is not before <paramref name="right"/> (see <see cref="CompareTo"/>).</summary>
    /// <param name="left">An offset.</param>
    /// <param name="right">Another offset.</param>
    /// <returns>The comparison.</returns>
    public static bool operator >=(Offset left, Offset right) => left.CompareTo(right) >= 0;

    /// <summary>An offset from a saved token (validated as by the constructor).</summary>
    /// <param name="value">The token.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not a valid offset.</exception>
    public static explicit operator Offset(string value) => new(value);

    /// <summary>The token (<see cref="Value"/>).</summary>
    /// <param name="offset">The offset.</param>
    public static implicit operator string(Offset offset) => offset.Value;
}

/// <summary>Serializes an <see cref="Offset"/> as its token string.</summary>
public sealed class OffsetJsonConverter : JsonConverter<Offset>
{
    /// <inheritdoc/>
    public override Offset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return Offset.TryParse(value, out var offset)
            ? offset
            : throw new JsonException($"\"{value}\" is not a valid stream offset.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Offset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.Value);
    }
}
