using System.Buffers;

namespace S2.StreamStore.Serialization;

/// <summary>Turns values of <typeparamref name="T"/> into record bodies and back (typed streams, <see cref="Record.Deserialize{T}(IRecordSerializer{T})"/>).</summary>
/// <typeparam name="T">The value type.</typeparam>
public interface IRecordSerializer<T>
{
    /// <summary>Writes <paramref name="value"/> as a record body.</summary>
    /// <param name="value">The value.</param>
    /// <param name="output">Where the body goes.</param>
    void Serialize(T value, IBufferWriter<byte> output);

    /// <summary>Reads a value from a record body.</summary>
    /// <param name="body">The body.</param>
    T Deserialize(ReadOnlySpan<byte> body);
}
