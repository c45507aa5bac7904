using System.Security.Cryptography;

namespace StreamDingo;

/// <summary>SHA-256: the default <see cref="IHashProvider"/>.</summary>
public sealed class Sha256HashProvider : IHashProvider
{
    /// <summary>The shared instance (stateless and thread-safe).</summary>
    public static Sha256HashProvider Instance { get; } = new();

    /// <inheritdoc />
    public int HashSizeInBytes => SHA256.HashSizeInBytes;

    /// <inheritdoc />
    public void ComputeHash(ReadOnlySpan<byte> data, Span<byte> destination) => SHA256.HashData(data, destination);
}
