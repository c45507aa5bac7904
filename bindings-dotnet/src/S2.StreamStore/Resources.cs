namespace S2.StreamStore;

/// <summary>A basin.</summary>
public class BasinInfo
{
    /// <summary>Its name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Its location, when the server reports one.</summary>
    public string? Location { get; set; }

    /// <summary>When it was created (RFC 3339 text as the server gave it).</summary>
    public string CreatedAt { get; set; } = "";

    /// <summary>When its deletion started, if it is being deleted.</summary>
    public string? DeletedAt { get; set; }
}

/// <summary>The outcome of <see cref="S2Client.EnsureBasinAsync"/>.</summary>
public sealed class EnsuredBasin : BasinInfo
{
    /// <summary>Whether the basin was created by this call.</summary>
    public bool Created { get; set; }

    /// <summary>Whether an existing basin's configuration was changed.</summary>
    public bool ConfigUpdated { get; set; }
}

/// <summary>A stream.</summary>
public class StreamInfo
{
    /// <summary>Its name.</summary>
    public string Name { get; set; } = "";

    /// <summary>When it was created (RFC 3339 text).</summary>
    public string CreatedAt { get; set; } = "";

    /// <summary>When its deletion started, if it is being deleted.</summary>
    public string? DeletedAt { get; set; }

    /// <summary>Its cipher, if encrypted.</summary>
    public string? Cipher { get; set; }
}

/// <summary>The outcome of <see cref="Basin.EnsureStreamAsync"/>.</summary>
public sealed class EnsuredStream : StreamInfo
{
    /// <summary>Whether the stream was created by this call.</summary>
    public bool Created { get; set; }

    /// <summary>Whether an existing stream's configuration was changed.</summary>
    public bool ConfigUpdated { get; set; }
}

/// <summary>One page of a listing.</summary>
/// <typeparam name="T">The items.</typeparam>
public sealed class ListPage<T>
{
    /// <summary>The items.</summary>
    public IReadOnlyList<T> Items { get; set; } = Array.Empty<T>();

    /// <summary>Whether more items follow (list again with <see cref="ListOptions.StartAfter"/>).</summary>
    public bool HasMore { get; set; }
}

/// <summary>What a listing returns.</summary>
public sealed class ListOptions
{
    /// <summary>Only names with this prefix.</summary>
    public string? Prefix { get; set; }

    /// <summary>Only names after this one.</summary>
    public string? StartAfter { get; set; }

    /// <summary>At most this many items (server default and maximum: 1000).</summary>
    public int? Limit { get; set; }
}
