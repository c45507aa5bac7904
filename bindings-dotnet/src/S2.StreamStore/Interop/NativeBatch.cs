namespace S2.StreamStore.Interop;

/// <summary>
/// Copies an owned <c>S2ReadBatch</c> into managed records and frees it. The bodies and header
/// bytes of consecutive records share one managed buffer of at most <see cref="ChunkBytes"/>
/// (a record larger than that gets a buffer of its own), so a batch costs a handful of
/// small-object-heap arrays, never one per record and never a large-object-heap buffer for a
/// batch of small records. The records own their memory: it stays valid after the batch is freed.
/// </summary>
internal static unsafe class NativeBatch
{
    /// <summary>The largest shared buffer: below the large object heap's threshold (85,000 bytes).</summary>
    internal const int ChunkBytes = 64 * 1024;

    /// <summary>The batch's records and tail; frees the batch. NULL is the end of a read (null).</summary>
    internal static ReadBatch? Take(S2NativeReadBatch* batch)
    {
        if (batch == null)
        {
            return null;
        }
        try
        {
            nuint count;
            var records = NativeMethods.s2_batch_records(batch, &count);
            S2PositionNative tailRaw;
            StreamPosition? tail = NativeMethods.s2_batch_tail(batch, &tailRaw) ? new StreamPosition(tailRaw.SeqNum, tailRaw.Timestamp) : null;
            return new ReadBatch(count == 0 ? Array.Empty<Record>() : Copy(records, checked((int)count)), tail);
        }
        finally
        {
            NativeMethods.s2_batch_free(batch);
        }
    }

    private static Record[] Copy(S2RecordNative* records, int count)
    {
        var result = new Record[count];
        byte[] chunk = Array.Empty<byte>();
        var used = 0;
        var next = 0; // the first record not yet given room in a chunk
        for (var i = 0; i < count; i++)
        {
            ref readonly var r = ref records[i];
            if (i == next)
            {
                // Room for the records from i on that fit one chunk (at least record i).
                long size = Size(in r);
                next = i + 1;
                while (next < count && size + Size(in records[next]) <= ChunkBytes)
                {
                    size += Size(in records[next]);
                    next++;
                }
                chunk = size == 0 ? Array.Empty<byte>() : GC.AllocateUninitializedArray<byte>(checked((int)size));
                used = 0;
            }
            RecordHeader[] headers;
            if (r.HeaderCount == 0)
            {
                headers = Array.Empty<RecordHeader>();
            }
            else
            {
                headers = new RecordHeader[(int)r.HeaderCount];
                for (var h = 0; h < headers.Length; h++)
                {
                    ref readonly var header = ref r.Headers[h];
                    var name = Put(header.Name, header.NameLen, chunk, ref used);
                    headers[h] = new RecordHeader(name, Put(header.Value, header.ValueLen, chunk, ref used));
                }
            }
            result[i] = new Record(r.SeqNum, r.Timestamp, headers, Put(r.Body, r.BodyLen, chunk, ref used), r.IsCommand != 0);
        }
        return result;
    }

    /// <summary>The bytes a record needs: its body and every header name and value.</summary>
    private static long Size(in S2RecordNative record)
    {
        var size = (long)record.BodyLen;
        for (nuint h = 0; h < record.HeaderCount; h++)
        {
            size += (long)(record.Headers[h].NameLen + record.Headers[h].ValueLen);
        }
        return size;
    }

    private static ReadOnlyMemory<byte> Put(byte* source, nuint length, byte[] chunk, ref int used)
    {
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var n = (int)length;
        new ReadOnlySpan<byte>(source, n).CopyTo(chunk.AsSpan(used, n));
        var memory = new ReadOnlyMemory<byte>(chunk, used, n);
        used += n;
        return memory;
    }
}
