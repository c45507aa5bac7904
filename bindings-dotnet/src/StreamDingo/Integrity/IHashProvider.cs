namespace StreamDingo;

/// <summary>The hash function used for event chains and snapshot states (SHA-256 by default: <see cref="Sha256HashProvider"/>).</summary>
public interface IHashProvider
{
    /// <summary>The size of a hash in bytes.</summary>
    int HashSizeInBytes { get; }

    /// <summary>Hashes <paramref name="data"/> into <paramref name="destination"/> (exactly <see cref="HashSizeInBytes"/> long).</summary>
    /// <param name="data">The bytes to hash.</param>
    /// <param name="destination">Receives the hash.</param>
    void ComputeHash(ReadOnlySpan<byte> data, Span<byte> destination);
}
