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
        Span<char> hex = stackalloc char[hash.Length * 2];
        Convert.TryToHexStringLower(hash, hex, out _);
        return MemoryExtensions.Equals(hex, envelope.Hash, StringComparison.OrdinalIgnoreCase);
    }

    private static void ComputeInto(IHashProvider provider, string previousHash, long version, string eventType, DateTimeOffset timestamp, Guid appendId, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(previousHash);
        ArgumentNullException.ThrowIfNull(eventType);
        var previousLength = previousHash.Length / 2;
        var typeLength = Encoding.UTF8.GetByteCount(eventType);
        var length = previousLength + 8 + typeLength + 1 + 8 + 16 + data.Length;
        byte[]? rented = null;
        // Small events (the usual case) are hashed from the stack.
        var buffer = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            var at = 0;
            if (previousHash.Length % 2 != 0
                || Convert.FromHexString(previousHash, buffer[..previousLength], out _, out var written) != OperationStatus.Done
                || written != previousLength)
            {
                throw new FormatException($"The previous hash '{previousHash}' is not hexadecimal.");
            }
            at += previousLength;
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], version);
            at += 8;
            at += Encoding.UTF8.GetBytes(eventType, buffer[at..]);
            buffer[at++] = 0;
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], timestamp.UtcTicks);
            at += 8;
            appendId.TryWriteBytes(buffer[at..], bigEndian: true, out _);
            at += 16;
            data.CopyTo(buffer[at..]);
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
