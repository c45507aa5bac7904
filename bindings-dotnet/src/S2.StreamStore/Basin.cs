using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using S2.StreamStore.Diagnostics;
using S2.StreamStore.Interop;
using S2.StreamStore.Json;
using S2.StreamStore.Serialization;

namespace S2.StreamStore;

/// <summary>A basin of an account: its streams. Made by <see cref="S2Client.Basin(string)"/>; nothing is sent until an operation runs.</summary>
public sealed class Basin
{
    private readonly NativeClient _native;
    private readonly ILogger _logger;

    internal Basin(NativeClient native, ILogger logger, string name)
    {
        _native = native;
        _logger = logger;
        Name = name;
    }

    /// <summary>The basin's name.</summary>
    public string Name { get; }

    /// <summary>A handle on stream <paramref name="name"/> (1-512 bytes). Dispose it when done.</summary>
    /// <param name="name">The stream's name.</param>
    public S2Stream Stream(string name)
    {
        Validation.StreamName(name, nameof(name));
        return new S2Stream(_native.OpenStream(Name, name), _logger, Name, name);
    }

    /// <summary>A typed stream whose bodies go through <paramref name="serializer"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="name">The stream's name.</param>
    /// <param name="serializer">The serializer.</param>
    public S2Stream<T> Stream<T>(string name, IRecordSerializer<T> serializer)
    {
        Validation.StreamName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(serializer);
        return new S2Stream<T>(_native.OpenStream(Name, name), _logger, Name, name, serializer);
    }

    /// <summary>A typed stream of JSON bodies with source-generated metadata (trimming- and AOT-safe).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="name">The stream's name.</param>
    /// <param name="typeInfo">The metadata of <typeparamref name="T"/> from a JSON context.</param>
    public S2Stream<T> Stream<T>(string name, JsonTypeInfo<T> typeInfo) => Stream(name, new JsonRecordSerializer<T>(typeInfo));

    /// <summary>A typed stream of JSON bodies with reflection-based metadata (web defaults).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="name">The stream's name.</param>
    [RequiresUnreferencedCode("Reflection-based JSON; pass a JsonTypeInfo for trimming and NativeAOT.")]
    [RequiresDynamicCode("Reflection-based JSON; pass a JsonTypeInfo for trimming and NativeAOT.")]
    public S2Stream<T> Stream<T>(string name) => Stream(name, JsonRecordSerializer<T>.Reflection());

    /// <summary>Lists the basin's streams (one page).</summary>
    /// <param name="options">Prefix, start and limit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ListPage<StreamInfo>> ListStreamsAsync(ListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var json = await Run("list_streams", null, ControlCall.ListStreams, Z(Name), OptionsJson.Z(options, S2JsonContext.Default.ListOptions), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.ListPageStreamInfo)!;
    }

    /// <summary>Creates a stream; <see cref="ResourceAlreadyExistsException"/> if it exists.</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="config">Its configuration (null: the basin's defaults).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<StreamInfo> CreateStreamAsync(string name, StreamConfig? config = null, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        var json = await Run("create_stream", name, ControlCall.CreateStream, Z(Name), Z(name), OptionsJson.Z(config, S2JsonContext.Default.StreamConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.StreamInfo)!;
    }

    /// <summary>Declares a stream: creates it, or makes an existing stream's configuration <paramref name="config"/> (null: the defaults, so its settings are reset).</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<EnsuredStream> EnsureStreamAsync(string name, StreamConfig? config = null, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        var json = await Run("ensure_stream", name, ControlCall.EnsureStream, Z(Name), Z(name), OptionsJson.Z(config, S2JsonContext.Default.StreamConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.EnsuredStream)!;
    }

    /// <summary>A stream's configuration.</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<StreamConfig> GetStreamConfigAsync(string name, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        var json = await Run("get_stream_config", name, ControlCall.GetStreamConfig, Z(Name), Z(name), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.StreamConfig)!;
    }

    /// <summary>Changes a stream's configuration: the non-null properties of <paramref name="changes"/> are set, the rest stay.</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="changes">The changes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<StreamConfig> ReconfigureStreamAsync(string name, StreamConfig changes, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(changes);
        var json = await Run("reconfigure_stream", name, ControlCall.ReconfigureStream, Z(Name), Z(name), OptionsJson.Z(changes, S2JsonContext.Default.StreamConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.StreamConfig)!;
    }

    /// <summary>Deletes a stream.</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="ignoreNotFound">A missing stream is not an error.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task DeleteStreamAsync(string name, bool ignoreNotFound = false, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        return Telemetry.Run(_logger, "delete_stream", Name, name, _native.Call(ControlCall.DeleteStream, Z(Name), Z(name), null, ignoreNotFound, cancellationToken));
    }

    /// <summary>A metric set of this basin (<see cref="MetricSets.Storage"/>, <see cref="MetricSets.AppendOps"/>, ...). Not on <c>s2 lite</c>: <see cref="S2NotSupportedException"/>.</summary>
    /// <param name="request">The set and range.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<S2Metric>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var wire = OptionsJson.Z(request.ToWire(nameof(request)), S2JsonContext.Default.MetricsRequestJson);
        var json = await Run("get_basin_metrics", null, ControlCall.BasinMetrics, Z(Name), wire, null, cancellationToken).ConfigureAwait(false);
        return S2Metric.FromJson(json);
    }

    /// <summary>A metric set of stream <paramref name="name"/> (<see cref="MetricSets.Storage"/>). Not on <c>s2 lite</c>.</summary>
    /// <param name="name">The stream's name.</param>
    /// <param name="request">The set and range.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<S2Metric>> GetStreamMetricsAsync(string name, MetricsRequest request, CancellationToken cancellationToken = default)
    {
        Validation.StreamName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(request);
        var wire = OptionsJson.Z(request.ToWire(nameof(request)), S2JsonContext.Default.MetricsRequestJson);
        var json = await Run("get_stream_metrics", name, ControlCall.StreamMetrics, Z(Name), Z(name), wire, cancellationToken).ConfigureAwait(false);
        return S2Metric.FromJson(json);
    }

    private Task<string> Run(string operation, string? stream, ControlCall call, byte[]? a, byte[]? b, byte[]? c, CancellationToken token) =>
        Telemetry.Run(_logger, operation, Name, stream, _native.Call(call, a, b, c, false, token));

    private static byte[] Z(string value) => NativeString.Utf8Z(value, "name")!;
}
