using System.Buffers;

namespace DurableStreams.Interop;

/// <summary>
/// A <see cref="Memory{T}"/> view of native bytes, re-pointed at each chunk in turn, so that a
/// copy loop hands a destination <see cref="Stream"/> the core's buffer without a managed copy
/// and without allocating per chunk. The bytes must stay alive (a lease on their handle) while
/// the memory is in use.
/// </summary>
internal sealed unsafe class NativeMemoryWindow : MemoryManager<byte>
{
    private byte* _pointer;
    private int _length;

    /// <summary>Points the window at <paramref name="length"/> bytes at <paramref name="pointer"/>.</summary>
    public Memory<byte> Over(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
        return CreateMemory(length);
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    // Native memory never moves: pinning is the pointer itself.
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        _pointer = null;
        _length = 0;
    }
}
