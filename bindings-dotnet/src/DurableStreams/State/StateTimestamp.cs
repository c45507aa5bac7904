using System.Globalization;

namespace DurableStreams.State;

/// <summary>
/// <c>headers.timestamp</c>: writing an instant the way JavaScript's <c>toISOString</c> does (what
/// the npm package's writers produce), checking the RFC 3339 shape the protocol requires, and
/// reading one back.
/// </summary>
internal static class StateTimestamp
{
    /// <summary><paramref name="instant"/> in UTC as <c>2025-01-15T10:30:00.250Z</c>.</summary>
    internal static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an RFC 3339 date-time; null when <paramref name="text"/> is not one.</summary>
    internal static DateTimeOffset? TryParse(string? text) =>
        text is not null && IsRfc3339(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant)
            ? instant
            : null;

    /// <summary>
    /// Whether <paramref name="text"/> has the shape <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c>
    /// with every field in range (<c>T</c> and <c>Z</c> in either case; second 60 is a leap second).
    /// </summary>
    internal static bool IsRfc3339(string text)
    {
        var s = text.AsSpan();
        if (s.Length < 20
            || !Digits(s, 0, 4, out _) || s[4] != '-'
            || !Digits(s, 5, 2, out var month) || s[7] != '-'
            || !Digits(s, 8, 2, out var day) || s[10] is not ('T' or 't')
            || !Digits(s, 11, 2, out var hour) || s[13] != ':'
            || !Digits(s, 14, 2, out var minute) || s[16] != ':'
            || !Digits(s, 17, 2, out var second))
        {
            return false;
        }
        if (month is < 1 or > 12 || day is < 1 or > 31 || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }
        var rest = s[19..];
        if (rest.Length > 0 && rest[0] == '.')
        {
            var count = 1;
            while (count < rest.Length && char.IsAsciiDigit(rest[count]))
            {
                count++;
            }
            if (count == 1)
            {
                return false; // a dot without digits
            }
            rest = rest[count..];
        }
        if (rest.Length == 1)
        {
            return rest[0] is 'Z' or 'z';
        }
        return rest.Length == 6
            && rest[0] is '+' or '-'
            && Digits(rest, 1, 2, out var offsetHours) && offsetHours < 24
            && rest[3] == ':'
            && Digits(rest, 4, 2, out var offsetMinutes) && offsetMinutes < 60;
    }

    private static bool Digits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return false;
            }
            value = (value * 10) + (s[i] - '0');
        }
        return true;
    }
}
