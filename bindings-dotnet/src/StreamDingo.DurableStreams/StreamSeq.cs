using System.Globalization;

namespace StreamDingo.DurableStreams;

/// <summary>
/// The <c>Stream-Seq</c> of an append: the version of its first event, zero-padded to 20 digits so
/// that the servers' byte-wise comparison is numeric order (<see cref="long.MaxValue"/> has 19).
/// </summary>
internal static class StreamSeq
{
    public static string ForFirstVersion(long version) => version.ToString("D20", CultureInfo.InvariantCulture);
}
