using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

/// <summary>The protocol's error codes.</summary>
internal static class ErrorCodes
{
    public const string NetworkError = "NETWORK_ERROR";
    public const string Timeout = "TIMEOUT";
    public const string Conflict = "CONFLICT";
    public const string NotFound = "NOT_FOUND";
    public const string SequenceConflict = "SEQUENCE_CONFLICT";
    public const string StreamClosed = "STREAM_CLOSED";
    public const string InvalidOffset = "INVALID_OFFSET";
    public const string UnexpectedStatus = "UNEXPECTED_STATUS";
    public const string ParseError = "PARSE_ERROR";
    public const string InternalError = "INTERNAL_ERROR";
    public const string NotSupported = "NOT_SUPPORTED";
    public const string InvalidArgument = "INVALID_ARGUMENT";
}

/// <summary>An error the adapter reports as is (code, message, optional HTTP status).</summary>
internal sealed class AdapterException : Exception
{
    public AdapterException(string code, string message, int? status = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Status = status;
    }

    public string Code { get; }

    public int? Status { get; }

    public static AdapterException InvalidArgument(string field, string problem) =>
        new(ErrorCodes.InvalidArgument, $"{field}: {problem}");
}

/// <summary>One command line: typed, validating accessors over its JSON object.</summary>
internal sealed class Command
{
    private readonly JsonElement _root;

    public Command(JsonElement root, string type)
    {
        _root = root;
        Type = type;
    }

    public string Type { get; }

    public JsonElement Root => _root;

    public bool Has(string name) =>
        _root.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);

    public JsonElement? Get(string name) =>
        _root.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? value : null;

    public string RequireString(string name) =>
        OptionalString(name) ?? throw AdapterException.InvalidArgument(name, "is required");

    public string? OptionalString(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        _ => throw AdapterException.InvalidArgument(name, "must be a string"),
    };

    public bool Bool(string name, bool fallback = false) => Get(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw AdapterException.InvalidArgument(name, "must be a boolean"),
    };

    public long? OptionalLong(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt64(out var n) => n,
        { ValueKind: JsonValueKind.Number } v when v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => (long)d,
        _ => throw AdapterException.InvalidArgument(name, "must be an integer"),
    };

    public long RequireLong(string name) =>
        OptionalLong(name) ?? throw AdapterException.InvalidArgument(name, "is required");

    public double? OptionalDouble(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
        _ => throw AdapterException.InvalidArgument(name, "must be a number"),
    };

    /// <summary>An object of string values (request headers).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> StringMap(string name)
    {
        if (Get(name) is not { } value)
        {
            return [];
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw AdapterException.InvalidArgument(name, "must be an object of strings");
        }
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var property in value.EnumerateObject())
        {
            var text = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                _ => throw AdapterException.InvalidArgument($"{name}.{property.Name}", "must be a string"),
            };
            pairs.Add(new(property.Name, text));
        }
        return pairs;
    }

    /// <summary>A nested command object (the benchmark operation, the validation target).</summary>
    public Command Nested(string name, string typeField)
    {
        if (Get(name) is not { ValueKind: JsonValueKind.Object } value)
        {
            throw AdapterException.InvalidArgument(name, "must be an object");
        }
        var type = value.TryGetProperty(typeField, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        return new Command(value, type);
    }
}

/// <summary>Builds reply lines.</summary>
internal static class Replies
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        // Valid JSON on exactly one line: control characters (\n included) and U+2028/U+2029 are
        // escaped; other characters are written as UTF-8 (this is a pipe, not HTML).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public static JsonObject Success(string type) => new()
    {
        ["type"] = type,
        ["success"] = true,
    };

    public static JsonObject Error(string commandType, string code, string message, int? status = null)
    {
        var reply = new JsonObject
        {
            ["type"] = "error",
            ["success"] = false,
            ["commandType"] = commandType,
            ["errorCode"] = code,
            ["message"] = message,
        };
        if (status is { } s)
        {
            reply["status"] = s;
        }
        return reply;
    }

    /// <summary>Adds <paramref name="name"/> unless <paramref name="value"/> is null (undefined fields are left out).</summary>
    public static JsonObject With(this JsonObject reply, string name, JsonNode? value)
    {
        if (value is not null)
        {
            reply[name] = value;
        }
        return reply;
    }

    public static JsonObject With(this JsonObject reply, string name, string? value) =>
        value is null ? reply : reply.With(name, JsonValue.Create(value));

    public static JsonObject With(this JsonObject reply, string name, long? value) =>
        value is null ? reply : reply.With(name, JsonValue.Create(value.Value));

    public static JsonObject With(this JsonObject reply, string name, bool? value) =>
        value is null ? reply : reply.With(name, JsonValue.Create(value.Value));

    public static string Serialize(JsonObject reply) => reply.ToJsonString(s_options);

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
