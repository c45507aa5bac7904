using System.Text;

namespace DurableStreams.Diagnostics;

/// <summary>
/// The one place where URLs are cleaned before they leave the library in a text (exception
/// messages, <c>ToString()</c>, logs, traces): user info is removed, query parameter names are
/// kept and their values replaced by <c>&lt;redacted&gt;</c> (<c>?sig=&lt;redacted&gt;</c>, the
/// form the native core uses), and a fragment becomes <c>#&lt;redacted&gt;</c>.
/// </summary>
internal static class Redaction
{
    /// <summary>What replaces a query value.</summary>
    internal const string Marker = "<redacted>";

    /// <summary>
    /// <paramref name="url"/> without user info, query values or fragment text (absolute or
    /// relative; null stays null). Idempotent.
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(url))]
    internal static string? Url(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return url;
        }
        var fragment = url.IndexOf('#', StringComparison.Ordinal);
        var text = fragment >= 0 ? url[..fragment] : url;
        var queryStart = text.IndexOf('?', StringComparison.Ordinal);
        var beforeQuery = queryStart >= 0 ? text[..queryStart] : text;
        var query = queryStart >= 0 ? text[(queryStart + 1)..] : null;

        // User info: between "scheme://" and the last '@' of the authority.
        var scheme = beforeQuery.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var authorityStart = scheme + 3;
            var authorityEnd = beforeQuery.IndexOf('/', authorityStart);
            if (authorityEnd < 0)
            {
                authorityEnd = beforeQuery.Length;
            }
            var at = beforeQuery.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
            if (at >= authorityStart)
            {
                beforeQuery = string.Concat(beforeQuery.AsSpan(0, authorityStart), beforeQuery.AsSpan(at + 1));
            }
        }
        var suffix = fragment >= 0 ? "#" + Marker : string.Empty;
        if (query is null)
        {
            return beforeQuery + suffix;
        }
        var result = new StringBuilder(beforeQuery.Length + query.Length + 16).Append(beforeQuery).Append('?');
        var first = true;
        foreach (var part in query.Split('&'))
        {
            if (part.Length == 0)
            {
                continue;
            }
            if (!first)
            {
                result.Append('&');
            }
            first = false;
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                result.Append(part);
            }
            else
            {
                result.Append(part, 0, equals).Append('=').Append(Marker);
            }
        }
        return result.Append(suffix).ToString();
    }

    /// <summary>
    /// <paramref name="text"/> with every http(s) URL in it cleaned by <see cref="Url"/> (for
    /// messages composed elsewhere, e.g. by the native core). A URL ends at whitespace, a quote or
    /// an angle bracket (except an earlier <c>&lt;redacted&gt;</c>). Idempotent.
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    internal static string? Text(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.IndexOf("://", StringComparison.Ordinal) < 0)
        {
            return text;
        }
        StringBuilder? result = null;
        var copied = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = FindUrl(text, i);
            if (start < 0)
            {
                break;
            }
            var end = start;
            while (end < text.Length)
            {
                var c = text[end];
                if (c == '<' && string.CompareOrdinal(text, end, Marker, 0, Marker.Length) == 0)
                {
                    end += Marker.Length;
                    continue;
                }
                if (char.IsWhiteSpace(c) || c is '"' or '\'' or '<' or '>' or '`' || char.IsControl(c))
                {
                    break;
                }
                end++;
            }
            // Trailing punctuation belongs to the sentence, not the URL.
            while (end > start && text[end - 1] is '.' or ',' or ';' or ')' or ']' or ':')
            {
                end--;
            }
            var url = text[start..end];
            var clean = Url(url);
            if (!string.Equals(clean, url, StringComparison.Ordinal))
            {
                result ??= new StringBuilder(text.Length);
                result.Append(text, copied, start - copied).Append(clean);
                copied = end;
            }
            i = Math.Max(end, start + 1);
        }
        if (result is null)
        {
            return text;
        }
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    private static int FindUrl(string text, int from)
    {
        var http = text.IndexOf("http://", from, StringComparison.OrdinalIgnoreCase);
        var https = text.IndexOf("https://", from, StringComparison.OrdinalIgnoreCase);
        return http < 0 ? https : https < 0 ? http : Math.Min(http, https);
    }
}
