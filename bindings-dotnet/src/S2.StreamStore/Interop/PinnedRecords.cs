using System.Buffers;
using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// A batch of <see cref="AppendRecord"/>s pinned as <c>S2NewRecord</c> structs for one native
/// call (the library copies them before returning), and the call's conditions.
/// </summary>
internal sealed unsafe class PinnedRecords : IDisposable
{
    private readonly MemoryHandle[] _pins;
    private readonly GCHandle _records;
    private readonly GCHandle _headers;
    private readonly GCHandle _token;
    private int _pinCount;

    internal PinnedRecords(IReadOnlyList<AppendRecord> records, AppendOptions? options)
    {
        var headerCount = 0;
        foreach (var record in records)
        {
            headerCount += record.Headers.Count;
        }
        _pins = new MemoryHandle[records.Count + (2 * headerCount)];
        var natives = new S2NewRecordNative[records.Count];
        var headers = new S2HeaderNative[Math.Max(headerCount, 1)];
        _records = GCHandle.Alloc(natives, GCHandleType.Pinned);
        _headers = GCHandle.Alloc(headers, GCHandleType.Pinned);
        var headerBase = (S2HeaderNative*)_headers.AddrOfPinnedObject();
        var h = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var first = h;
            foreach (var header in record.Headers)
            {
                headers[h] = new S2HeaderNative
                {
                    Name = Pin(header.Name),
                    NameLen = (nuint)header.Name.Length,
                    Value = Pin(header.Value),
                    ValueLen = (nuint)header.Value.Length,
                };
                h++;
            }
            natives[i] = new S2NewRecordNative
            {
                Body = Pin(record.Body),
                BodyLen = (nuint)record.Body.Length,
                Headers = record.Headers.Count == 0 ? null : headerBase + first,
                HeaderCount = (nuint)record.Headers.Count,
                HasTimestamp = record.Timestamp.HasValue ? (byte)1 : (byte)0,
                Timestamp = record.Timestamp ?? 0,
            };
        }
        Count = (nuint)records.Count;
        if (options is not null && (options.MatchSeqNum.HasValue || options.FencingToken is not null))
        {
            byte* token = null;
            if (options.FencingToken is not null)
            {
                _token = GCHandle.Alloc(NativeString.Utf8Z(options.FencingToken, "options.FencingToken"), GCHandleType.Pinned);
                token = (byte*)_token.AddrOfPinnedObject();
            }
            Conditions = new S2AppendConditionsNative
            {
                HasMatchSeqNum = options.MatchSeqNum.HasValue ? (byte)1 : (byte)0,
                MatchSeqNum = options.MatchSeqNum ?? 0,
                FencingToken = token,
            };
            HasConditions = true;
        }
    }

    /// <summary>The pinned records.</summary>
    internal S2NewRecordNative* Records => (S2NewRecordNative*)_records.AddrOfPinnedObject();

    /// <summary>How many records.</summary>
    internal nuint Count { get; }

    /// <summary>The conditions (valid when <see cref="HasConditions"/>).</summary>
    internal S2AppendConditionsNative Conditions;

    /// <summary>Whether there are conditions (else pass NULL).</summary>
    internal bool HasConditions { get; }

    private byte* Pin(ReadOnlyMemory<byte> memory)
    {
        if (memory.IsEmpty)
        {
            return null;
        }
        var pin = memory.Pin();
        _pins[_pinCount++] = pin;
        return (byte*)pin.Pointer;
    }

    public void Dispose()
    {
        for (var i = 0; i < _pinCount; i++)
        {
            _pins[i].Dispose();
        }
        _pinCount = 0;
        if (_records.IsAllocated)
        {
            _records.Free();
        }
        if (_headers.IsAllocated)
        {
            _headers.Free();
        }
        if (_token.IsAllocated)
        {
            _token.Free();
        }
    }
}
