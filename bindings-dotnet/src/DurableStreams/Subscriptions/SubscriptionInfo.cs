namespace DurableStreams.Subscriptions;

/// <summary>How a subscription delivers its wakes.</summary>
public enum SubscriptionType
{
    /// <summary><c>pull-wake</c>: the server appends wake events to a stream and workers claim them.</summary>
    PullWake,

    /// <summary><c>webhook</c>: the server calls a URL with each wake.</summary>
    Webhook,
}

/// <summary>Whether delivery is operating normally.</summary>
public enum SubscriptionStatus
{
    /// <summary><c>active</c>: delivery is operating normally.</summary>
    Active,

    /// <summary><c>failed</c>: a webhook retry is scheduled after a failed delivery attempt.</summary>
    Failed,
}

/// <summary>How a stream came to be linked to a subscription.</summary>
public enum SubscriptionLinkType
{
    /// <summary><c>glob</c>: matched by the subscription's pattern.</summary>
    Glob,

    /// <summary><c>explicit</c>: added by name (takes precedence when both apply).</summary>
    Explicit,
}

/// <summary>One linked stream and the subscription's cursor in it.</summary>
/// <param name="Path">The stream-root-relative path, e.g. <c>orders/42</c>.</param>
/// <param name="LinkType">Matched by the pattern or linked explicitly.</param>
/// <param name="AckedOffset">The last processed offset: the next delivery starts after it.</param>
public sealed record SubscriptionStreamLink(string Path, SubscriptionLinkType LinkType, Offset AckedOffset);

/// <summary>A webhook server's signing key metadata.</summary>
/// <param name="Algorithm">The signature algorithm (<c>ed25519</c>).</param>
/// <param name="KeyId">The id of the key that signs deliveries.</param>
/// <param name="JwksUrl">Where the server publishes its public keys.</param>
public sealed record WebhookSigningKey(string Algorithm, string KeyId, string JwksUrl);

/// <summary>A webhook subscription's target.</summary>
/// <param name="Url">Where wakes are sent.</param>
/// <param name="Signing">How deliveries are signed, if the server says.</param>
public sealed record SubscriptionWebhook(string Url, WebhookSigningKey? Signing);

/// <summary>What the server says about a subscription.</summary>
public sealed record SubscriptionInfo
{
    /// <summary>The subscription id.</summary>
    public required string Id { get; init; }

    /// <summary>Pull-wake or webhook.</summary>
    public required SubscriptionType Type { get; init; }

    /// <summary>The glob of stream paths it follows, if any.</summary>
    public string? Pattern { get; init; }

    /// <summary>Every linked stream with its cursor.</summary>
    public required IReadOnlyList<SubscriptionStreamLink> Streams { get; init; }

    /// <summary>For webhook subscriptions, the target and signing metadata.</summary>
    public SubscriptionWebhook? Webhook { get; init; }

    /// <summary>For pull-wake subscriptions, the stream wake events are appended to.</summary>
    public string? WakeStream { get; init; }

    /// <summary>How long a worker's claim lasts without a heartbeat.</summary>
    public required TimeSpan LeaseTtl { get; init; }

    /// <summary>When the subscription was created, if the server says.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>Whether delivery is operating normally.</summary>
    public required SubscriptionStatus Status { get; init; }

    /// <summary>The description given at creation, if any.</summary>
    public string? Description { get; init; }

    /// <summary>The link of <paramref name="path"/>, or null when that stream is not linked.</summary>
    /// <param name="path">A stream-root-relative path.</param>
    public SubscriptionStreamLink? Stream(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var link in Streams)
        {
            if (string.Equals(link.Path, path, StringComparison.Ordinal))
            {
                return link;
            }
        }
        return null;
    }
}

/// <summary>The outcome of <see cref="Subscription.CreateAsync"/>.</summary>
/// <param name="Created">True when the server created it (201); false when an identical one existed (200).</param>
/// <param name="Subscription">The subscription as the server now has it.</param>
public sealed record SubscriptionCreateResult(bool Created, SubscriptionInfo Subscription);
