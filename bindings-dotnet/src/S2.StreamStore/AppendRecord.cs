using System.Text;

namespace S2.StreamStore;

/// <summary>A record to append: a body, headers and an optional client timestamp.</summary>
public sealed class AppendRecord
{
    /// <summary>A record with a body.</summary>
    /// <param name="body">The body (may be empty).</param>
    /// <param name="headers">Headers (null: none).</param>
    /// <param name="timestamp">A client timestamp in milliseconds (used as the stream's timestamping mode says).</param>
    public AppendRecord(ReadOnlyMemory<byte> body, IReadOnlyList<RecordHeader>? headers = null, ulong? timestamp = null)
    {
        Body = body;
        Headers = headers ?? Array.Empty<RecordHeader>();
        Timestamp = timestamp;
    }

    /// <summary>A record whose body is UTF-8 text.</summary>
    /// <param name="body">The text.</param>
    /// <param name="headers">Headers (null: none).</param>
    /// <param name="timestamp">A client timestamp in milliseconds.</param>
    public AppendRecord(string body, IReadOnlyList<RecordHeader>? headers = null, ulong? timestamp = null)
        : this(Encoding.UTF8.GetBytes(body ?? throw new ArgumentNullException(nameof(body))), headers, timestamp)
    {
    }

    /// <summary>The body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The headers.</summary>
    public IReadOnlyList<RecordHeader> Headers { get; }

    /// <summary>The client timestamp in milliseconds, if set.</summary>
    public ulong? Timestamp { get; }

    /// <summary>
    /// The record's metered size, as S2 counts it against the 1 MiB batch limit:
    /// 8 + 2 × headers + the bytes of every header name and value + the body.
    /// </summary>
    public long MeteredBytes
    {
        get
        {
            long size = 8 + (2L * Headers.Count) + Body.Length;
            foreach (var header in Headers)
            {
                size += header.Name.Length + header.Value.Length;
            }
            return size;
        }
    }
}
