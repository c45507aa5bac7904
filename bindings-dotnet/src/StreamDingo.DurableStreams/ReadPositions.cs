using global::DurableStreams;

namespace StreamDingo.DurableStreams;

/// <summary>Where reading can resume: the offset just after a known version, kept sorted, bounded in number.</summary>
internal sealed class ReadPositions
{
    private const int MaxPositions = 1024;
    private readonly SortedList<long, Offset> _afterVersion = [];

    public void Add(long version, Offset after)
    {
        lock (_afterVersion)
        {
            _afterVersion[version] = after;
            if (_afterVersion.Count > MaxPositions)
            {
                _afterVersion.RemoveAt(MaxPositions / 2); // thin the middle; the oldest and newest positions stay useful
            }
        }
    }

    public (Offset Offset, long AfterVersion) Before(long fromVersion)
    {
        lock (_afterVersion)
        {
            var keys = _afterVersion.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (keys[mid] < fromVersion)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            return found < 0 ? (Offset.Beginning, 0) : (_afterVersion.Values[found], keys[found]);
        }
    }
}
