using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace StreamDingo;

/// <summary>
/// The per-stream hash chain: <c>hash(n) = H(hash(n-1) ‖ version ‖ type ‖ 0 ‖ timestamp ticks ‖ append id ‖ data)</c>
/// with fixed-width big-endian integers, so no two different events hash the same input.
/// </summary>
public static class EventHashChain
{
    /// <summary>The previous hash of a stream's first event: 64 zeros (the SHA-256 width).</summary>
    public static string GenesisHash { get; } = new('0', 64);

    /// <summary>Computes an event's chain hash.</summary>
    /// <param name="provider">The hash provider.</param>
    /// <param name="previousHash">The previous event's hash (hexadecimal), <see cref="GenesisHash"/> for version 1.</param>
    /// <param name="version">The event's version.</param>
    /// <param name="eventType">The registered event type name.</param>
    /// <param name="timestamp">The event's timestamp.</param>
    /// <param name="appendId">The append id.</param>
    /// <param name="data">The event's serialized bytes.</param>
    /// <returns>The hash, lowercase hexadecimal.</returns>
    public static string Compute(IHashProvider provider, string previousHash, long version, string eventType, DateTimeOffset timestamp, Guid appendId, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Span<byte> hash = stackalloc byte[provider.HashSizeInBytes];
        ComputeInto(provider, previousHash, version, eventType, timestamp, appendId, data, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Whether <paramref name="envelope"/>'s content hashes to its <see cref="EventEnvelope.Hash"/> (without allocating).</summary>
    /// <param name="provider">The hash provider.</param>
    /// <param name="envelope">The envelope.</param>
    /// <returns>True when the stored hash is the hash of the content.</returns>
    public static bool Matches(IHashProvider provider, EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(envelope);
        Span<byte> hash = stackalloc byte[provider.HashSizeInBytes];
        ComputeInto(provider, envelope.PreviousHash, envelope.Version, envelope.EventType, envelope.Timestamp, envelope.AppendId, envelope.Data.Span, hash);
        return HashEquals(hash, envelope.Hash);
    }

    private static void ComputeInto(IHashProvider provider, string previousHash, long version, string eventType, DateTimeOffset timestamp, Guid appendId, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(previousHash);
        ArgumentNullException.ThrowIfNull(eventType);
        var length = InputLength(previousHash, eventType, data.Length);
        byte[]? rented = null;
        // Small events (the usual case) are hashed from the stack.
        var buffer = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            if (!TryWriteInput(previousHash, version, eventType, timestamp, appendId, data, buffer))
            {
                throw new FormatException($"The previous hash '{previousHash}' is not hexadecimal.");
            }
            provider.ComputeHash(buffer, destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The length of an envelope's hash input.</summary>
    internal static int InputLength(EventEnvelope envelope) => InputLength(envelope.PreviousHash, envelope.EventType, envelope.Data.Length);

    private static int InputLength(string previousHash, string eventType, int dataLength) =>
        (previousHash.Length / 2) + 8 + Encoding.UTF8.GetByteCount(eventType) + 1 + 8 + 16 + dataLength;

    /// <summary>Writes an envelope's hash input (exactly <see cref="InputLength(EventEnvelope)"/> bytes); false when its previous hash is not hexadecimal.</summary>
    internal static bool TryWriteInput(EventEnvelope envelope, Span<byte> buffer) =>
        TryWriteInput(envelope.PreviousHash, envelope.Version, envelope.EventType, envelope.Timestamp, envelope.AppendId, envelope.Data.Span, buffer);

    private static bool TryWriteInput(string previousHash, long version, string eventType, DateTimeOffset timestamp, Guid appendId, ReadOnlySpan<byte> data, Span<byte> buffer)
    {
        var previousLength = previousHash.Length / 2;
        if (previousHash.Length % 2 != 0
            || Convert.FromHexString(previousHash, buffer[..previousLength], out _, out var written) != OperationStatus.Done
            || written != previousLength)
        {
            return false;
        }
        var at = previousLength;
        BinaryPrimitives.WriteInt64BigEndian(buffer[at..], version);
        at += 8;
        at += Encoding.UTF8.GetBytes(eventType, buffer[at..]);
        buffer[at++] = 0;
        BinaryPrimitives.WriteInt64BigEndian(buffer[at..], timestamp.UtcTicks);
        at += 8;
        appendId.TryWriteBytes(buffer[at..], bigEndian: true, out _);
        at += 16;
        data.CopyTo(buffer[at..]);
        return true;
    }

    /// <summary>Whether <paramref name="hash"/> is the hash the hexadecimal <paramref name="hex"/> names (case-insensitive).</summary>
    internal static bool HashEquals(ReadOnlySpan<byte> hash, string hex)
    {
        Span<char> text = stackalloc char[hash.Length * 2];
        Convert.TryToHexStringLower(hash, text, out _);
        return MemoryExtensions.Equals(text, hex, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Computes the hash an envelope should carry, given its previous hash.</summary>
    /// <param name="provider">The hash provider.</param>
    /// <param name="envelope">The envelope.</param>
    /// <returns>The expected hash.</returns>
    public static string Compute(IHashProvider provider, EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return Compute(provider, envelope.PreviousHash, envelope.Version, envelope.EventType, envelope.Timestamp, envelope.AppendId, envelope.Data.Span);
    }
}
