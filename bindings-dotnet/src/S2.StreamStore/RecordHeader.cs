using System.Text;

namespace S2.StreamStore;

/// <summary>A record header: a name (never empty: an empty name marks a command record) and a value, both arbitrary bytes.</summary>
public readonly struct RecordHeader : IEquatable<RecordHeader>
{
    /// <summary>A header from bytes.</summary>
    /// <param name="name">The name (not empty).</param>
    /// <param name="value">The value.</param>
    public RecordHeader(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value)
    {
        Name = name;
        Value = value;
    }

    /// <summary>A header from UTF-8 text.</summary>
    /// <param name="name">The name (not empty).</param>
    /// <param name="value">The value.</param>
    public RecordHeader(string name, string value)
        : this(Encoding.UTF8.GetBytes(name ?? throw new ArgumentNullException(nameof(name))), Encoding.UTF8.GetBytes(value ?? throw new ArgumentNullException(nameof(value))))
    {
    }

    /// <summary>The name's bytes.</summary>
    public ReadOnlyMemory<byte> Name { get; }

    /// <summary>The value's bytes.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The name as UTF-8 text.</summary>
    public string NameText => Encoding.UTF8.GetString(Name.Span);

    /// <summary>The value as UTF-8 text.</summary>
    public string ValueText => Encoding.UTF8.GetString(Value.Span);

    /// <inheritdoc />
    public bool Equals(RecordHeader other) => Name.Span.SequenceEqual(other.Name.Span) && Value.Span.SequenceEqual(other.Value.Span);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RecordHeader other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(Name.Span);
        hash.AddBytes(Value.Span);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{NameText}: {ValueText}";

    /// <summary>Equality of names and values.</summary>
    /// <param name="left">A header.</param>
    /// <param name="right">Another header.</param>
    public static bool operator ==(RecordHeader left, RecordHeader right) => left.Equals(right);

    /// <summary>Inequality of names or values.</summary>
    /// <param name="left">A header.</param>
    /// <param name="right">Another header.</param>
    public static bool operator !=(RecordHeader left, RecordHeader right) => !left.Equals(right);
}
