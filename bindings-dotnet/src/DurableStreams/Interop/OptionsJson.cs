using System.Buffers;
using System.Text.Json;

namespace DurableStreams.Interop;

/// <summary>
/// Builds the NUL-terminated UTF-8 JSON option documents the native functions take, with
/// <see cref="Utf8JsonWriter"/> (no reflection, trimming- and AOT-safe).
/// </summary>
internal static class OptionsJson
{
    internal delegate void Writer<TState>(Utf8JsonWriter writer, TState state);

    /// <summary>Writes one JSON object and returns it NUL-terminated.</summary>
    internal static byte[] Build<TState>(TState state, Writer<TState> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer, state);
            writer.WriteEndObject();
        }
        var result = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(result);
        return result;
    }

    /// <summary>
    /// Writes a string property after checking that neither <paramref name="key"/> nor
    /// <paramref name="value"/> holds a NUL character (<see cref="NativeString.ThrowIfNul"/>):
    /// the core reads these documents into C strings and HTTP headers.
    /// </summary>
    /// <exception cref="ArgumentException">A NUL character (named <paramref name="paramName"/>).</exception>
    internal static void WriteString(Utf8JsonWriter writer, string key, string value, string paramName)
    {
        NativeString.ThrowIfNul(key, paramName);
        NativeString.ThrowIfNul(value, paramName);
        writer.WriteString(key, value);
    }

    internal static long Milliseconds(TimeSpan value) => (long)Math.Ceiling(value.TotalMilliseconds);
}

/// <summary>The JSON options used when the client is given none.</summary>
internal static class JsonDefaults
{
    /// <summary>
    /// Equivalent to <see cref="JsonSerializerOptions.Default"/> for reflection-based serialization,
    /// without referencing that (trimming-annotated) property.
    /// </summary>
    internal static JsonSerializerOptions Options { get; } = new();
}
