namespace S2.StreamStore.Interop;

/// <summary>Copies an owned <c>S2ReadBatch</c> into managed records (one buffer per batch) and frees it.</summary>
internal static unsafe class NativeBatch
{
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
            if (count == 0)
            {
                return new ReadBatch(Array.Empty<Record>(), tail);
            }
            long total = 0;
            for (nuint i = 0; i < count; i++)
            {
                total += (long)records[i].BodyLen;
                for (nuint h = 0; h < records[i].HeaderCount; h++)
                {
                    total += (long)(records[i].Headers[h].NameLen + records[i].Headers[h].ValueLen);
                }
            }
            var buffer = new byte[checked((int)total)];
            var memory = new Memory<byte>(buffer);
            var offset = 0;
            var result = new Record[(int)count];
            for (nuint i = 0; i < count; i++)
            {
                ref readonly var r = ref records[i];
                var headers = r.HeaderCount == 0 ? Array.Empty<RecordHeader>() : new RecordHeader[(int)r.HeaderCount];
                for (nuint h = 0; h < r.HeaderCount; h++)
                {
                    var name = Copy(r.Headers[h].Name, r.Headers[h].NameLen, memory, ref offset);
                    var value = Copy(r.Headers[h].Value, r.Headers[h].ValueLen, memory, ref offset);
                    headers[(int)h] = new RecordHeader(name, value);
                }
                var body = Copy(r.Body, r.BodyLen, memory, ref offset);
                result[(int)i] = new Record(r.SeqNum, r.Timestamp, headers, body, r.IsCommand != 0);
            }
            return new ReadBatch(result, tail);
        }
        finally
        {
            NativeMethods.s2_batch_free(batch);
        }
    }

    private static ReadOnlyMemory<byte> Copy(byte* source, nuint length, Memory<byte> buffer, ref int offset)
    {
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var target = buffer.Slice(offset, (int)length);
        new ReadOnlySpan<byte>(source, (int)length).CopyTo(target.Span);
        offset += (int)length;
        return target;
    }
}
