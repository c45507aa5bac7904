using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

/// <summary>
/// Executes protocol commands with the DurableStreams package (public API only). One command at a
/// time: the runner is strictly sequential.
/// </summary>
internal sealed partial class Adapter : IAsyncDisposable
{
    /// <summary>The name reported by <c>init</c>.</summary>
    public const string ClientName = "durable-streams-dotnet";

    private static readonly TimeSpan s_defaultCommandTimeout = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan s_defaultBenchmarkTimeout = TimeSpan.FromSeconds(55);
    private static readonly TimeSpan s_defaultReadTimeout = TimeSpan.FromMilliseconds(5000);

    /// <summary>The longest deadline honoured (one day; timers take at most about 24 days).</summary>
    private const double MaxTimeoutMs = 86_400_000;

    /// <summary>How long after its own deadline a command may take before the adapter answers TIMEOUT regardless.</summary>
    private static readonly TimeSpan s_grace = TimeSpan.FromSeconds(2);

    private readonly TextWriter _log;
    private readonly DynamicValues _dynamic = new();
    private readonly Dictionary<string, string> _contentTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DurableStreamClient> _clients = new(StringComparer.Ordinal);
    private readonly List<DurableStreamClient> _retiredClients = [];
    private readonly Dictionary<(DurableStreamClient Client, string Path), DurableStream> _handles = [];
    private readonly Dictionary<(string Path, string ProducerId, long Epoch), ProducerEntry> _producers = [];
    private string? _serverUrl;
    private TimeSpan? _initTimeout;

    public Adapter(TextWriter log)
    {
        _log = log;
    }

    /// <summary>The package version (the informational version without build metadata).</summary>
    public static string ClientVersion { get; } =
        (typeof(DurableStreamClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(DurableStreamClient).Assembly.GetName().Version?.ToString()
            ?? "0.0.0").Split('+')[0];

    /// <summary>Parses and executes one line; returns the reply line and whether to exit afterwards.</summary>
    public async Task<(string Reply, bool Exit)> ExecuteLineAsync(string line)
    {
        Command command;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement.Clone();
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (Replies.Serialize(Replies.Error("unknown", ErrorCodes.ParseError, "A command must be a JSON object.")), false);
            }
            if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return (Replies.Serialize(Replies.Error("unknown", ErrorCodes.ParseError, "A command needs a string \"type\".")), false);
            }
            command = new Command(root, type.GetString()!);
        }
        catch (JsonException e)
        {
            return (Replies.Serialize(Replies.Error("unknown", ErrorCodes.ParseError, $"Malformed command line: {e.Message}")), false);
        }

        var reply = await ExecuteAsync(command).ConfigureAwait(false);
        return (Replies.Serialize(reply), command.Type == "shutdown");
    }

    /// <summary>Runs a command within its time limit and maps failures to error replies.</summary>
    public async Task<JsonObject> ExecuteAsync(Command command)
    {
        TimeSpan budget;
        try
        {
            budget = Budget(command);
        }
        catch (AdapterException e)
        {
            return Replies.Error(command.Type, e.Code, e.Message, e.Status);
        }

        using var deadline = new CancellationTokenSource(budget);
        var work = RunAsync(command, budget, deadline.Token);
        var guard = Task.Delay(budget + s_grace, CancellationToken.None);
        if (await Task.WhenAny(work, guard).ConfigureAwait(false) == work)
        {
            return await work.ConfigureAwait(false);
        }
        // The work ignored its cancellation: answer anyway (exactly one line per command) and let
        // it finish in the background.
        _ = work.ContinueWith(
            t => _log.WriteLine($"[adapter] {command.Type} finished late: {(t.IsFaulted ? t.Exception!.GetBaseException().Message : "ok")}"),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return Replies.Error(command.Type, ErrorCodes.Timeout, $"{command.Type} did not finish within {budget.TotalMilliseconds:0} ms.");
    }

    private TimeSpan Budget(Command command)
    {
        var timeoutMs = command.OptionalDouble("timeoutMs");
        if (timeoutMs is { } ms)
        {
            return ms > 0 && double.IsFinite(ms)
                ? TimeSpan.FromMilliseconds(Math.Min(ms, MaxTimeoutMs))
                : throw AdapterException.InvalidArgument("timeoutMs", $"must be a positive number of milliseconds, got {ms}");
        }
        return command.Type switch
        {
            "read" => s_defaultReadTimeout,
            "benchmark" => s_defaultBenchmarkTimeout,
            _ => _initTimeout ?? s_defaultCommandTimeout,
        };
    }

    private async Task<JsonObject> RunAsync(Command command, TimeSpan budget, CancellationToken token)
    {
        try
        {
            return command.Type switch
            {
                "init" => await InitAsync(command).ConfigureAwait(false),
                "shutdown" => Replies.Success("shutdown"),
                "create" => await CreateAsync(command, token).ConfigureAwait(false),
                "connect" => await ConnectAsync(command, token).ConfigureAwait(false),
                "append" => await AppendAsync(command, token).ConfigureAwait(false),
                "read" => await ReadAsync(command, token).ConfigureAwait(false),
                "head" => await HeadAsync(command, token).ConfigureAwait(false),
                "delete" => await DeleteAsync(command, token).ConfigureAwait(false),
                "close" => await CloseAsync(command, token).ConfigureAwait(false),
                "idempotent-append" => await IdempotentAppendAsync(command, token).ConfigureAwait(false),
                "idempotent-append-batch" => await IdempotentAppendBatchAsync(command, token).ConfigureAwait(false),
                "idempotent-close" => await IdempotentCloseAsync(command, token).ConfigureAwait(false),
                "idempotent-detach" => await IdempotentDetachAsync(command, token).ConfigureAwait(false),
                "set-dynamic-header" => SetDynamicHeader(command),
                "set-dynamic-param" => SetDynamicParam(command),
                "clear-dynamic" => ClearDynamic(),
                "validate" => await ValidateAsync(command).ConfigureAwait(false),
                "benchmark" => await BenchmarkAsync(command, token).ConfigureAwait(false),
                _ => Replies.Error(command.Type, ErrorCodes.NotSupported, $"Unknown command type \"{command.Type}\"."),
            };
        }
        catch (Exception e)
        {
            var path = command.Root.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var (code, status, message) = ErrorMapping.Map(e, path);
            if (e is OperationCanceledException && token.IsCancellationRequested)
            {
                message = $"{command.Type} did not finish within {budget.TotalMilliseconds:0} ms.";
            }
            if (code == ErrorCodes.InternalError)
            {
                await _log.WriteLineAsync($"[adapter] {command.Type}: {e}").ConfigureAwait(false);
            }
            return Replies.Error(command.Type, code, message, status);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    private async Task<JsonObject> InitAsync(Command command)
    {
        var serverUrl = command.RequireString("serverUrl");
        if (!Uri.TryCreate(serverUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw AdapterException.InvalidArgument("serverUrl", $"must be an absolute http(s) URL, got \"{serverUrl}\"");
        }
        await ResetAsync().ConfigureAwait(false);
        _serverUrl = serverUrl.TrimEnd('/');
        _initTimeout = command.OptionalDouble("timeoutMs") is { } ms and > 0 ? TimeSpan.FromMilliseconds(Math.Min(ms, MaxTimeoutMs)) : null;
        var features = new JsonObject
        {
            ["batching"] = true,
            ["sse"] = true,
            ["longPoll"] = true,
            ["auto"] = true,
            ["streaming"] = true,
            ["dynamicHeaders"] = true,
            ["retryOptions"] = true,
            ["batchItems"] = true,
            ["strictZeroValidation"] = true,
        };
        return Replies.Success("init")
            .With("clientName", ClientName)
            .With("clientVersion", ClientVersion)
            .With("features", features);
    }

    /// <summary>Releases producers and clients (bounded: a dead server must not delay the exit).</summary>
    public async Task ResetAsync()
    {
        var producers = _producers.Values.ToList();
        _producers.Clear();
        var release = Task.WhenAll(producers.Select(p => DisposeQuietlyAsync(p.Producer)));
        await Task.WhenAny(release, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        foreach (var client in _clients.Values.Concat(_retiredClients))
        {
            client.Dispose();
        }
        _clients.Clear();
        _retiredClients.Clear();
        _handles.Clear();
        _contentTypes.Clear();
        _dynamic.Clear();
    }

    public async ValueTask DisposeAsync() => await ResetAsync().ConfigureAwait(false);

    private async Task DisposeQuietlyAsync(IdempotentProducer producer)
    {
        try
        {
            await producer.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await _log.WriteLineAsync($"[adapter] disposing producer {producer.ProducerId}: {e.Message}").ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ clients and handles

    private string ServerUrl => _serverUrl ?? throw new AdapterException(ErrorCodes.InternalError, "The adapter is not initialized: send init first.");

    /// <summary>
    /// The client for a set of per-command headers (sent as the client's default headers) with
    /// the current dynamic headers and parameters installed. Clients are cached; changing the
    /// dynamic values retires them (producers created from them keep working).
    /// </summary>
    private DurableStreamClient Client(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var baseUrl = ServerUrl;
        var key = new StringBuilder().Append(_dynamic.Generation);
        foreach (var (name, value) in headers.OrderBy(h => h.Key.ToUpperInvariant(), StringComparer.Ordinal))
        {
            key.Append('\n').Append(name.ToUpperInvariant()).Append('\0').Append(value);
        }
        var keyText = key.ToString();
        if (_clients.TryGetValue(keyText, out var client))
        {
            return client;
        }
        var options = new DurableStreamClientOptions
        {
            BaseUrl = baseUrl,
            // The suite expects plain appends to survive 5xx answers and dropped connections, as
            // the reference client does: at-least-once (the suite's faults happen before storing).
            AppendRetry = AppendRetryMode.AtLeastOnce,
        };
        foreach (var (name, value) in headers)
        {
            options.DefaultHeaders![name] = value;
        }
        _dynamic.Install(options, headers.Select(h => h.Key).ToList());
        client = new DurableStreamClient(options);
        _clients[keyText] = client;
        return client;
    }

    private void RetireClients()
    {
        _retiredClients.AddRange(_clients.Values);
        _clients.Clear();
        _handles.Clear();
    }

    /// <summary>
    /// A cached handle per client and path. Handles remember the content type they learned; a new
    /// handle is told the content type the adapter already knows (from create, connect, head or a
    /// read), so that it needs no HEAD before an append or an SSE read.
    /// </summary>
    private DurableStream Handle(DurableStreamClient client, string path)
    {
        if (!_handles.TryGetValue((client, path), out var stream))
        {
            stream = client.GetStream(path);
            if (_contentTypes.TryGetValue(path, out var known))
            {
                stream.SetContentType(known);
            }
            _handles[(client, path)] = stream;
        }
        return stream;
    }

    /// <summary>Forgets what is known about a deleted stream (it may be recreated with another content type).</summary>
    private void Forget(string path)
    {
        _contentTypes.Remove(path);
        foreach (var key in _handles.Keys.Where(k => k.Path == path).ToList())
        {
            _handles.Remove(key);
        }
    }

    private DurableStream Stream(Command command, string path) => Handle(Client(command.StringMap("headers")), path);

    private string? KnownContentType(DurableStream stream, string path) =>
        stream.ContentType ?? (_contentTypes.TryGetValue(path, out var known) ? known : null);

    private void Remember(string path, string? contentType)
    {
        if (!string.IsNullOrEmpty(contentType))
        {
            _contentTypes[path] = contentType;
        }
    }

    private static byte[] Payload(Command command, string field = "data", bool required = true)
    {
        var text = required ? command.RequireString(field) : command.OptionalString(field);
        if (text is null)
        {
            return [];
        }
        if (!command.Bool("binary"))
        {
            return Encoding.UTF8.GetBytes(text);
        }
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw AdapterException.InvalidArgument(field, "is not valid base64 (binary is true)");
        }
    }

    // ------------------------------------------------------------------ stream commands

    private async Task<JsonObject> CreateAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var contentType = command.OptionalString("contentType");
        var options = new CreateStreamOptions
        {
            ContentType = contentType,
            Closed = command.Bool("closed"),
        };
        if (command.OptionalLong("ttlSeconds") is { } ttl)
        {
            options.Ttl = ttl < 0
                ? throw AdapterException.InvalidArgument("ttlSeconds", "cannot be negative")
                : TimeSpan.FromSeconds(ttl);
        }
        if (command.OptionalString("expiresAt") is { } expiresAt)
        {
            options.ExpiresAt = DateTimeOffset.TryParse(expiresAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : throw AdapterException.InvalidArgument("expiresAt", $"is not an ISO 8601 date-time: \"{expiresAt}\"");
        }
        if (command.Has("data"))
        {
            options.InitialData = Payload(command);
        }

        var stream = Stream(command, path);
        var result = await stream.CreateWithDetailsAsync(options, token).ConfigureAwait(false);
        Remember(path, result.ContentType ?? contentType);
        var offset = (result.NextOffset ?? (await stream.HeadAsync(token).ConfigureAwait(false)).Offset)?.Value;
        return Replies.Success("create")
            .With("status", result.Created ? 201 : 200)
            .With("offset", offset);
    }

    private async Task<JsonObject> ConnectAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var metadata = await Stream(command, path).HeadAsync(token).ConfigureAwait(false);
        Remember(path, metadata.ContentType);
        return Replies.Success("connect")
            .With("status", 200)
            .With("offset", metadata.Offset?.Value);
    }

    private async Task<JsonObject> HeadAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var metadata = await Stream(command, path).HeadAsync(token).ConfigureAwait(false);
        Remember(path, metadata.ContentType);
        return Replies.Success("head")
            .With("status", 200)
            .With("offset", metadata.Offset?.Value)
            .With("contentType", metadata.ContentType)
            .With("streamClosed", metadata.StreamClosed)
            .With("ttlSeconds", metadata.Ttl is { } ttl ? (long?)ttl.TotalSeconds : null)
            .With("expiresAt", metadata.ExpiresAtRaw);
    }

    private async Task<JsonObject> DeleteAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        await Stream(command, path).DeleteAsync(token).ConfigureAwait(false);
        Forget(path);
        return Replies.Success("delete").With("status", 200);
    }

    private async Task<JsonObject> AppendAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var data = Payload(command);
        var stream = Stream(command, path);
        var options = new AppendOptions
        {
            Seq = command.Get("seq") switch
            {
                null => null,
                { ValueKind: JsonValueKind.String } s => s.GetString(),
                { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
                _ => throw AdapterException.InvalidArgument("seq", "must be a string or a number"),
            },
        };
        _dynamic.StartRecording();
        var result = await stream.AppendAsync(data, options, token).ConfigureAwait(false);
        // An append is one POST (preceded by a HEAD only when the content type was unknown).
        var (headersSent, paramsSent) = _dynamic.Recorded(last: true);
        return Replies.Success("append")
            .With("status", 200)
            .With("offset", result.Offset.Value)
            .With("headersSent", headersSent)
            .With("paramsSent", paramsSent);
    }

    private async Task<JsonObject> CloseAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var stream = Stream(command, path);
        var data = Payload(command, required: false);
        var options = new CloseOptions { Data = data.Length == 0 ? null : data, ContentType = command.OptionalString("contentType") };
        var result = await stream.CloseAsync(options, token).ConfigureAwait(false);
        return Replies.Success("close")
            .With("status", 200)
            .With("finalOffset", result.FinalOffset.Value);
    }

    // ------------------------------------------------------------------ dynamic headers

    private JsonObject SetDynamicHeader(Command command)
    {
        var name = command.RequireString("name");
        if (string.IsNullOrWhiteSpace(name))
        {
            throw AdapterException.InvalidArgument("name", "cannot be empty");
        }
        _dynamic.SetHeader(name, DynamicValue.Parse(command.RequireString("valueType"), command.OptionalString("initialValue"), allowToken: true));
        RetireClients();
        return Replies.Success("set-dynamic-header");
    }

    private JsonObject SetDynamicParam(Command command)
    {
        var name = command.RequireString("name");
        if (string.IsNullOrEmpty(name))
        {
            throw AdapterException.InvalidArgument("name", "cannot be empty");
        }
        _dynamic.SetParam(name, DynamicValue.Parse(command.RequireString("valueType"), command.OptionalString("initialValue"), allowToken: true));
        RetireClients();
        return Replies.Success("set-dynamic-param");
    }

    private JsonObject ClearDynamic()
    {
        _dynamic.Clear();
        RetireClients();
        return Replies.Success("clear-dynamic");
    }

    // ------------------------------------------------------------------ helpers

    private static long ElapsedNanoseconds(long startTimestamp, long endTimestamp)
    {
        var ticks = endTimestamp - startTimestamp;
        return (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    private sealed class ProducerEntry(IdempotentProducer producer)
    {
        public IdempotentProducer Producer { get; } = producer;

        public bool Closed { get; set; }
    }
}
