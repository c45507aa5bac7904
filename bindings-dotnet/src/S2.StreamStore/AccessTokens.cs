using System.Text.Json.Serialization;
using S2.StreamStore.Json;

namespace S2.StreamStore;

/// <summary>Which resources a token covers: set exactly one of <see cref="Exact"/> (an empty string: none) and <see cref="Prefix"/>.</summary>
public sealed class ScopeFilter
{
    /// <summary>Exactly this name (an empty string matches nothing).</summary>
    public string? Exact { get; set; }

    /// <summary>Every name with this prefix (an empty string matches everything).</summary>
    public string? Prefix { get; set; }
}

/// <summary>Read and write permissions of an operation group.</summary>
public sealed class ReadWritePermissions
{
    /// <summary>Read operations.</summary>
    public bool Read { get; set; }

    /// <summary>Write operations.</summary>
    public bool Write { get; set; }
}

/// <summary>Permissions by operation group.</summary>
public sealed class OperationGroups
{
    /// <summary>Account-level operations.</summary>
    public ReadWritePermissions? Account { get; set; }

    /// <summary>Basin-level operations.</summary>
    public ReadWritePermissions? Basin { get; set; }

    /// <summary>Stream-level operations.</summary>
    public ReadWritePermissions? Stream { get; set; }
}

/// <summary>An S2 operation an access token may permit.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<S2Operation>))]
public enum S2Operation
{
    /// <summary><c>list_basins</c></summary>
    ListBasins,

    /// <summary><c>create_basin</c></summary>
    CreateBasin,

    /// <summary><c>get_basin_config</c></summary>
    GetBasinConfig,

    /// <summary><c>delete_basin</c></summary>
    DeleteBasin,

    /// <summary><c>reconfigure_basin</c></summary>
    ReconfigureBasin,

    /// <summary><c>list_access_tokens</c></summary>
    ListAccessTokens,

    /// <summary><c>issue_access_token</c></summary>
    IssueAccessToken,

    /// <summary><c>revoke_access_token</c></summary>
    RevokeAccessToken,

    /// <summary><c>get_account_metrics</c></summary>
    GetAccountMetrics,

    /// <summary><c>get_basin_metrics</c></summary>
    GetBasinMetrics,

    /// <summary><c>get_stream_metrics</c></summary>
    GetStreamMetrics,

    /// <summary><c>list_streams</c></summary>
    ListStreams,

    /// <summary><c>create_stream</c></summary>
    CreateStream,

    /// <summary><c>get_stream_config</c></summary>
    GetStreamConfig,

    /// <summary><c>delete_stream</c></summary>
    DeleteStream,

    /// <summary><c>reconfigure_stream</c></summary>
    ReconfigureStream,

    /// <summary><c>check_tail</c></summary>
    CheckTail,

    /// <summary><c>append</c></summary>
    Append,

    /// <summary><c>read</c></summary>
    Read,

    /// <summary><c>trim</c></summary>
    Trim,

    /// <summary><c>fence</c></summary>
    Fence,

    /// <summary><c>list_locations</c></summary>
    ListLocations,

    /// <summary><c>get_default_location</c></summary>
    GetDefaultLocation,

    /// <summary><c>set_default_location</c></summary>
    SetDefaultLocation,
}

/// <summary>What an access token permits.</summary>
public sealed class AccessTokenScope
{
    /// <summary>The basins it covers.</summary>
    public ScopeFilter? Basins { get; set; }

    /// <summary>The streams it covers.</summary>
    public ScopeFilter? Streams { get; set; }

    /// <summary>The access tokens it covers.</summary>
    public ScopeFilter? AccessTokens { get; set; }

    /// <summary>Permissions by operation group.</summary>
    public OperationGroups? OpGroups { get; set; }

    /// <summary>Individual operations.</summary>
    public IList<S2Operation> Ops { get; set; } = new List<S2Operation>();
}

/// <summary>A request to issue an access token (<see cref="S2Client.CreateAccessTokenAsync"/>).</summary>
public sealed class AccessTokenRequest
{
    /// <summary>The token's id (required; unique in the account).</summary>
    public string Id { get; set; } = "";

    /// <summary>When it expires (null: the issuing token's expiry).</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>Whether stream names are prefixed with the scope's stream prefix automatically.</summary>
    public bool AutoPrefixStreams { get; set; }

    /// <summary>The basins it covers.</summary>
    public ScopeFilter? Basins { get; set; }

    /// <summary>The streams it covers.</summary>
    public ScopeFilter? Streams { get; set; }

    /// <summary>The access tokens it covers.</summary>
    public ScopeFilter? AccessTokens { get; set; }

    /// <summary>Permissions by operation group.</summary>
    public OperationGroups? OperationGroups { get; set; }

    /// <summary>Individual operations it permits.</summary>
    public IList<S2Operation> Operations { get; set; } = new List<S2Operation>();
}

/// <summary>An issued access token.</summary>
/// <param name="Id">Its id.</param>
/// <param name="AccessToken">The token's secret (pass it as <see cref="S2Options.AccessToken"/>).</param>
/// <param name="ExpiresAt">When it expires, as requested.</param>
public sealed record IssuedAccessToken(string Id, string AccessToken, DateTimeOffset? ExpiresAt)
{
    /// <summary>The secret is not shown.</summary>
    public override string ToString() => $"IssuedAccessToken {{ Id = {Id}, ExpiresAt = {ExpiresAt} }}";
}

/// <summary>An access token as listed.</summary>
public sealed class AccessTokenInfo
{
    /// <summary>Its id.</summary>
    public string Id { get; set; } = "";

    /// <summary>When it expires (RFC 3339), if it does.</summary>
    public string? ExpiresAt { get; set; }

    /// <summary>Whether stream names are prefixed automatically.</summary>
    public bool AutoPrefixStreams { get; set; }

    /// <summary>What it permits.</summary>
    public AccessTokenScope Scope { get; set; } = new();
}
