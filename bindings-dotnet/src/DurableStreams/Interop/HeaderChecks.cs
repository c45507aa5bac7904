namespace DurableStreams.Interop;

/// <summary>
/// The managed checks of a header dictionary before it crosses the boundary (client default
/// headers, per-request headers): names not empty, values not null, no NUL anywhere. The native
/// core checks the rest (HTTP token names, printable values, refused framing headers).
/// </summary>
internal static class HeaderChecks
{
    /// <exception cref="ArgumentException">A name is empty, or a name or value is null or holds a NUL; named <paramref name="paramName"/>, never quoting a value.</exception>
    internal static void Validate(IEnumerable<KeyValuePair<string, string>>? headers, string what, string paramName)
    {
        foreach (var (name, value) in headers ?? [])
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException($"{what} cannot contain an empty header name.", paramName);
            }
            if (value is null)
            {
                throw new ArgumentException($"{what}[\"{name}\"] is null.", paramName);
            }
            NativeString.ThrowIfNul(name, paramName);
            // The value itself stays out of the message: header values are typically credentials.
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"{what}[\"{name}\"] cannot contain a NUL character ('\\0'): native strings end at the first NUL.", paramName);
            }
        }
    }
}
