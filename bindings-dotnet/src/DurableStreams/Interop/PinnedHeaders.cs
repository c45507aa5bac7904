using System.Runtime.InteropServices;
using System.Text;

namespace DurableStreams.Interop;

/// <summary><c>DsHeader</c>: one per-request header (name and value, NUL-terminated UTF-8).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsHeader
{
    public byte* Name;
    public byte* Value;
}

/// <summary>
/// Per-request headers laid out for the C ABI: one pinned buffer of NUL-terminated names and
/// values and one pinned <c>DsHeader</c> array pointing into it, valid until disposed. No
/// allocation when there are no headers (the common case).
/// </summary>
internal unsafe struct PinnedHeaders : IDisposable
{
    private GCHandle _text;
    private GCHandle _entries;

    /// <summary>The <c>DsHeader</c> array, or null when there are none.</summary>
    internal DsHeader* Pointer { get; private set; }

    /// <summary>How many headers <see cref="Pointer"/> holds.</summary>
    internal nuint Count { get; private set; }

    /// <summary>Pins <paramref name="headers"/> (null or empty: none).</summary>
    /// <exception cref="ArgumentException">A name is empty, or a name or value is null or holds a NUL (named <paramref name="paramName"/>).</exception>
    internal static PinnedHeaders Pin(IReadOnlyDictionary<string, string>? headers, string paramName)
    {
        if (headers is null || headers.Count == 0)
        {
            return default;
        }
        HeaderChecks.Validate(headers, "Headers", paramName);
        var size = 0;
        foreach (var (name, value) in headers)
        {
            size += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value) + 2;
        }
        var text = new byte[size];
        var entries = new DsHeader[headers.Count];
        var pinned = new PinnedHeaders
        {
            _text = GCHandle.Alloc(text, GCHandleType.Pinned),
            _entries = GCHandle.Alloc(entries, GCHandleType.Pinned),
        };
        var bytes = (byte*)pinned._text.AddrOfPinnedObject();
        var at = 0;
        var index = 0;
        foreach (var (name, value) in headers)
        {
            entries[index].Name = bytes + at;
            at += Encoding.UTF8.GetBytes(name, text.AsSpan(at)) + 1; // NUL: the array starts zeroed
            entries[index].Value = bytes + at;
            at += Encoding.UTF8.GetBytes(value, text.AsSpan(at)) + 1;
            index++;
        }
        pinned.Pointer = (DsHeader*)pinned._entries.AddrOfPinnedObject();
        pinned.Count = (nuint)entries.Length;
        return pinned;
    }

    /// <summary>Unpins the buffers.</summary>
    public void Dispose()
    {
        if (_entries.IsAllocated)
        {
            _entries.Free();
        }
        if (_text.IsAllocated)
        {
            _text.Free();
        }
        Pointer = null;
        Count = 0;
    }
}
