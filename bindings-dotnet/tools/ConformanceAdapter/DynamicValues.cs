using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

/// <summary>
/// The dynamic headers and query parameters set by <c>set-dynamic-header</c> /
/// <c>set-dynamic-param</c>. They are installed as the client's
/// <see cref="DurableStreamClientOptions.DynamicHeaders"/> and
/// <see cref="DurableStreamClientOptions.DynamicQueryParameters"/>: the package evaluates them for
/// each request, and every value handed out is recorded so that a command can echo the values its
/// requests actually carried.
/// </summary>
internal sealed class DynamicValues
{
    private readonly Dictionary<string, DynamicValue> _headers = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DynamicValue> _params = new(StringComparer.Ordinal);
    private ConcurrentQueue<Sent> _sent = new();

    /// <summary>Changes whenever the set of dynamic values changes (clients are rebuilt then).</summary>
    public int Generation { get; private set; }

    public bool IsEmpty => _headers.Count == 0 && _params.Count == 0;

    public void SetHeader(string name, DynamicValue value)
    {
        _headers[name] = value;
        Generation++;
    }

    public void SetParam(string name, DynamicValue value)
    {
        _params[name] = value;
        Generation++;
    }

    public void Clear()
    {
        _headers.Clear();
        _params.Clear();
        Generation++;
    }

    /// <summary>Installs the providers into client options (headers given statically by the command win).</summary>
    public void Install(DurableStreamClientOptions options, IReadOnlyCollection<string> staticHeaderNames)
    {
        var shadowed = new HashSet<string>(staticHeaderNames, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in _headers)
        {
            if (!shadowed.Contains(name))
            {
                options.DynamicHeaders![name] = Provider(isParam: false, name, value);
            }
        }
        foreach (var (name, value) in _params)
        {
            options.DynamicQueryParameters![name] = Provider(isParam: true, name, value);
        }
    }

    /// <summary>Forgets the values recorded so far (at the start of a command that echoes them).</summary>
    public void StartRecording() => _sent = new ConcurrentQueue<Sent>();

    /// <summary>
    /// The values the command's requests carried, per name: the first request's when
    /// <paramref name="skip"/> is 0 (reads), or after skipping that many requests, or the last
    /// request's when <paramref name="last"/> is true (appends).
    /// </summary>
    public (JsonObject? Headers, JsonObject? Params) Recorded(bool last, int skip = 0)
    {
        if (IsEmpty)
        {
            return (null, null);
        }
        var headers = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var parameters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var sent in _sent)
        {
            var map = sent.IsParam ? parameters : headers;
            if (!map.TryGetValue(sent.Name, out var values))
            {
                map[sent.Name] = values = [];
            }
            values.Add(sent.Value);
        }
        return (Pick(headers, last, skip), Pick(parameters, last, skip));
    }

    private static JsonObject? Pick(Dictionary<string, List<string>> map, bool last, int skip)
    {
        if (map.Count == 0)
        {
            return null;
        }
        var result = new JsonObject();
        foreach (var (name, values) in map)
        {
            result[name] = last ? values[^1] : values[Math.Min(skip, values.Count - 1)];
        }
        return result;
    }

    private Func<CancellationToken, ValueTask<string>> Provider(bool isParam, string name, DynamicValue value) => _ =>
    {
        var next = value.Next();
        _sent.Enqueue(new Sent(isParam, name, next));
        return ValueTask.FromResult(next);
    };

    private readonly record struct Sent(bool IsParam, string Name, string Value);
}

/// <summary>One dynamic value: a counter (1, 2, 3... per request), a timestamp (Unix ms) or a fixed token.</summary>
internal sealed class DynamicValue
{
    private readonly string _kind;
    private readonly string? _token;
    private long _counter;

    private DynamicValue(string kind, string? token)
    {
        _kind = kind;
        _token = token;
    }

    public static DynamicValue Parse(string kind, string? initialValue, bool allowToken) => kind switch
    {
        "counter" => new DynamicValue(kind, null),
        "timestamp" => new DynamicValue(kind, null),
        "token" when allowToken => new DynamicValue(kind, initialValue ?? string.Empty),
        _ => throw AdapterException.InvalidArgument("valueType", $"must be {(allowToken ? "counter, timestamp or token" : "counter or timestamp")}, got \"{kind}\""),
    };

    public string Next() => _kind switch
    {
        "counter" => Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture),
        "timestamp" => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        _ => _token!,
    };
}
