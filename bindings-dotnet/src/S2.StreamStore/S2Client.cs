using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using S2.StreamStore.Diagnostics;
using S2.StreamStore.Interop;
using S2.StreamStore.Json;

namespace S2.StreamStore;

/// <summary>
/// A client of one S2 account: basins and access tokens, and <see cref="Basin(string)"/> for a
/// basin's streams. Thread-safe; share one per application. Creating it sends nothing: a wrong
/// endpoint shows on the first call.
/// </summary>
public sealed class S2Client : IAsyncDisposable, IDisposable
{
    private readonly NativeClient _native;
    private readonly ILogger _logger;

    /// <summary>Creates a client.</summary>
    /// <param name="options">Access token, endpoints, timeouts, retries, compression.</param>
    /// <exception cref="ArgumentException">An option is invalid; the exception names it.</exception>
    public S2Client(S2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _native = new NativeClient(options);
        _logger = options.LoggerFactory?.CreateLogger("S2.StreamStore") ?? NullLogger.Instance;
    }

    /// <summary>The native library's version.</summary>
    public static string NativeVersion => NativeLibraryGuard.NativeVersion;

    /// <summary>Basin <paramref name="name"/> (8-48 lowercase letters, digits and hyphens).</summary>
    /// <param name="name">The basin's name.</param>
    public Basin Basin(string name) => new(_native, _logger, Validation.BasinName(name, nameof(name)));

    /// <summary>Lists basins (one page).</summary>
    /// <param name="options">Prefix, start and limit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ListPage<BasinInfo>> ListBasinsAsync(ListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var json = await Run("list_basins", null, ControlCall.ListBasins, OptionsJson.Z(options, S2JsonContext.Default.ListOptions), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.ListPageBasinInfo)!;
    }

    /// <summary>Creates a basin; <see cref="ResourceAlreadyExistsException"/> if it exists.</summary>
    /// <param name="name">The basin's name.</param>
    /// <param name="config">Its configuration (null: defaults).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<BasinInfo> CreateBasinAsync(string name, BasinConfig? config = null, CancellationToken cancellationToken = default)
    {
        Validation.BasinName(name, nameof(name));
        var json = await Run("create_basin", name, ControlCall.CreateBasin, Z(name), OptionsJson.Z(config, S2JsonContext.Default.BasinConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.BasinInfo)!;
    }

    /// <summary>Declares a basin: creates it, or makes an existing basin's configuration <paramref name="config"/> (null: the defaults, so its settings are reset).</summary>
    /// <param name="name">The basin's name.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<EnsuredBasin> EnsureBasinAsync(string name, BasinConfig? config = null, CancellationToken cancellationToken = default)
    {
        Validation.BasinName(name, nameof(name));
        var json = await Run("ensure_basin", name, ControlCall.EnsureBasin, Z(name), OptionsJson.Z(config, S2JsonContext.Default.BasinConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.EnsuredBasin)!;
    }

    /// <summary>A basin's configuration.</summary>
    /// <param name="name">The basin's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<BasinConfig> GetBasinConfigAsync(string name, CancellationToken cancellationToken = default)
    {
        Validation.BasinName(name, nameof(name));
        var json = await Run("get_basin_config", name, ControlCall.GetBasinConfig, Z(name), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.BasinConfig)!;
    }

    /// <summary>Changes a basin's configuration: the non-null properties of <paramref name="changes"/> are set, the rest stay.</summary>
    /// <param name="name">The basin's name.</param>
    /// <param name="changes">The changes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<BasinConfig> ReconfigureBasinAsync(string name, BasinConfig changes, CancellationToken cancellationToken = default)
    {
        Validation.BasinName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(changes);
        var json = await Run("reconfigure_basin", name, ControlCall.ReconfigureBasin, Z(name), OptionsJson.Z(changes, S2JsonContext.Default.BasinConfig), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.BasinConfig)!;
    }

    /// <summary>Deletes a basin (completes in the background).</summary>
    /// <param name="name">The basin's name.</param>
    /// <param name="ignoreNotFound">A missing basin is not an error.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task DeleteBasinAsync(string name, bool ignoreNotFound = false, CancellationToken cancellationToken = default)
    {
        Validation.BasinName(name, nameof(name));
        return Telemetry.Run(_logger, "delete_basin", name, null, _native.Call(ControlCall.DeleteBasin, Z(name), null, null, ignoreNotFound, cancellationToken));
    }

    /// <summary>Issues an access token. <see cref="S2NotSupportedException"/> on servers without access tokens (<c>s2 lite</c>).</summary>
    /// <param name="request">Its id, scope and expiry.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IssuedAccessToken> CreateAccessTokenAsync(AccessTokenRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Id))
        {
            throw new ArgumentException("An access token request needs an id.", "request.Id");
        }
        CheckFilter(request.Basins, "request.Basins");
        CheckFilter(request.Streams, "request.Streams");
        CheckFilter(request.AccessTokens, "request.AccessTokens");
        var wire = new AccessTokenRequestJson
        {
            Id = request.Id,
            ExpiresAt = request.ExpiresAt?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            AutoPrefixStreams = request.AutoPrefixStreams,
            Scope = new AccessTokenScope
            {
                Basins = request.Basins,
                Streams = request.Streams,
                AccessTokens = request.AccessTokens,
                OpGroups = request.OperationGroups,
                Ops = request.Operations ?? new List<S2Operation>(),
            },
        };
        var json = await Run("issue_access_token", null, ControlCall.IssueAccessToken, OptionsJson.Z(wire, S2JsonContext.Default.AccessTokenRequestJson), null, cancellationToken).ConfigureAwait(false);
        var secret = JsonSerializer.Deserialize(json, S2JsonContext.Default.String) ?? "";
        return new IssuedAccessToken(request.Id, secret, request.ExpiresAt);
    }

    /// <summary>Lists access tokens (one page). <see cref="S2NotSupportedException"/> on <c>s2 lite</c>.</summary>
    /// <param name="options">Prefix, start and limit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ListPage<AccessTokenInfo>> ListAccessTokensAsync(ListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var json = await Run("list_access_tokens", null, ControlCall.ListAccessTokens, OptionsJson.Z(options, S2JsonContext.Default.ListOptions), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.ListPageAccessTokenInfo)!;
    }

    /// <summary>Revokes access token <paramref name="id"/>. <see cref="S2NotSupportedException"/> on <c>s2 lite</c>.</summary>
    /// <param name="id">The token's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task RevokeAccessTokenAsync(string id, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw new ArgumentException("An access token id is required.", nameof(id));
        }
        return Telemetry.Run(_logger, "revoke_access_token", null, null, _native.Call(ControlCall.RevokeAccessToken, NativeString.Utf8Z(id, nameof(id)), null, null, false, cancellationToken));
    }

    /// <summary>Frees the native client (streams and sessions opened from it stay usable).</summary>
    public void Dispose() => _native.Dispose();

    /// <summary>An account metric set (<see cref="MetricSets.ActiveBasins"/> or <see cref="MetricSets.AccountOps"/>). Not on <c>s2 lite</c>: <see cref="S2NotSupportedException"/>.</summary>
    /// <param name="request">The set and range.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<S2Metric>> GetAccountMetricsAsync(MetricsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var wire = OptionsJson.Z(request.ToWire(nameof(request)), S2JsonContext.Default.MetricsRequestJson);
        var json = await Run("get_account_metrics", null, ControlCall.AccountMetrics, wire, null, cancellationToken).ConfigureAwait(false);
        return S2Metric.FromJson(json);
    }

    /// <summary>The locations the account can place basins in. Not on <c>s2 lite</c>: <see cref="S2NotSupportedException"/>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<LocationInfo>> ListLocationsAsync(CancellationToken cancellationToken = default)
    {
        var json = await Run("list_locations", null, ControlCall.ListLocations, null, null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.ListLocationInfo) ?? [];
    }

    /// <summary>The location new basins go to when they name none. Not on <c>s2 lite</c>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<LocationInfo> GetDefaultLocationAsync(CancellationToken cancellationToken = default)
    {
        var json = await Run("get_default_location", null, ControlCall.GetDefaultLocation, null, null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.LocationInfo)!;
    }

    /// <summary>Makes <paramref name="location"/> the default for new basins; returns it. Not on <c>s2 lite</c>.</summary>
    /// <param name="location">The location's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<LocationInfo> SetDefaultLocationAsync(string location, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        var json = await Run("set_default_location", null, ControlCall.SetDefaultLocation, NativeString.Utf8Z(location, nameof(location)), null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(json, S2JsonContext.Default.LocationInfo)!;
    }

    /// <summary>Frees the native client.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    private static void CheckFilter(ScopeFilter? filter, string name)
    {
        if (filter is not null && (filter.Exact is null) == (filter.Prefix is null))
        {
            throw new ArgumentException("A scope filter sets exactly one of Exact and Prefix.", name);
        }
    }

    private Task<string> Run(string operation, string? basin, ControlCall call, byte[]? a, byte[]? b, CancellationToken token) =>
        Telemetry.Run(_logger, operation, basin, null, _native.Call(call, a, b, null, false, token));

    private static byte[] Z(string value) => NativeString.Utf8Z(value, "name")!;
}
