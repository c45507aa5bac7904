using System.Text;

namespace S2.StreamStore;

/// <summary>S2's rules for names, batches, headers, tokens and endpoints, checked before anything is sent.</summary>
internal static class Validation
{
    /// <summary>The most records in one batch.</summary>
    internal const int MaxBatchRecords = 1000;

    /// <summary>The most metered bytes in one batch (1 MiB).</summary>
    internal const long MaxBatchBytes = 1024 * 1024;

    /// <summary>The longest fencing token, in bytes.</summary>
    internal const int MaxFencingTokenBytes = 36;

    /// <summary>Basins: 8-48 lowercase letters, digits and hyphens, not starting or ending with a hyphen.</summary>
    internal static string BasinName(string? name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length is < 8 or > 48)
        {
            throw new ArgumentException($"A basin name has 8 to 48 characters; {name.Length} given (\"{name}\").", paramName);
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                throw new ArgumentException($"A basin name holds only lowercase letters, digits and hyphens (\"{name}\").", paramName);
            }
        }
        if (name[0] == '-' || name[^1] == '-')
        {
            throw new ArgumentException($"A basin name does not start or end with a hyphen (\"{name}\").", paramName);
        }
        return name;
    }

    /// <summary>Streams: 1-512 bytes of UTF-8 without NUL.</summary>
    internal static string StreamName(string? name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        var bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes is < 1 or > 512)
        {
            throw new ArgumentException($"A stream name has 1 to 512 bytes; {bytes} given.", paramName);
        }
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A stream name cannot contain NUL.", paramName);
        }
        return name;
    }

    /// <summary>A batch: 1-1000 records, at most 1 MiB metered, header names not empty.</summary>
    internal static void Batch(IReadOnlyList<AppendRecord>? records, string paramName)
    {
        ArgumentNullException.ThrowIfNull(records, paramName);
        if (records.Count is < 1 or > MaxBatchRecords)
        {
            throw new ArgumentException($"A batch has 1 to {MaxBatchRecords} records; {records.Count} given.", paramName);
        }
        long total = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"Record {i} is null.", paramName);
            Headers(record.Headers, $"{paramName}[{i}].Headers");
            total += record.MeteredBytes;
        }
        if (total > MaxBatchBytes)
        {
            throw new ArgumentException($"A batch has at most {MaxBatchBytes} metered bytes (1 MiB); {total} given.", paramName);
        }
    }

    /// <summary>Header names are not empty (an empty name marks a command record).</summary>
    internal static void Headers(IReadOnlyList<RecordHeader>? headers, string paramName)
    {
        if (headers is null)
        {
            return;
        }
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Name.IsEmpty)
            {
                throw new ArgumentException($"Header {i} has an empty name; an empty name is reserved for command records.", paramName);
            }
        }
    }

    /// <summary>A fencing token has at most 36 bytes.</summary>
    internal static string? FencingToken(string? token, string paramName)
    {
        if (token is not null && (Encoding.UTF8.GetByteCount(token) > MaxFencingTokenBytes || token.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"A fencing token has at most {MaxFencingTokenBytes} bytes and no NUL.", paramName);
        }
        return token;
    }

    /// <summary>An endpoint is <c>http(s)://host[:port]</c>, nothing after the authority.</summary>
    internal static void Endpoint(string value, string paramName)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"\"{value}\" is not an endpoint URL; expected e.g. http://127.0.0.1:4566.", paramName);
        }
        if (uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException($"\"{value}\" is not an endpoint URL: it has something after host[:port] (a path, query, fragment or user info).", paramName);
        }
    }
}
