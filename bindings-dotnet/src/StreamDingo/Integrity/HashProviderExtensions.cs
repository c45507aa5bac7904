namespace StreamDingo;

/// <summary>Hash helpers over any <see cref="IHashProvider"/>.</summary>
public static class HashProviderExtensions
{
    /// <summary>The hash of <paramref name="data"/> as lowercase hexadecimal.</summary>
    /// <param name="provider">The hash provider.</param>
    /// <param name="data">The bytes.</param>
    /// <returns>The hash text.</returns>
    public static string ComputeHashHex(this IHashProvider provider, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Span<byte> hash = stackalloc byte[provider.HashSizeInBytes];
        provider.ComputeHash(data, hash);
        return Convert.ToHexStringLower(hash);
    }
}
