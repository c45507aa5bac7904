namespace DurableStreams.Subscriptions;

/// <summary>
/// What a subscription is created with (<see cref="Subscription.CreateAsync"/>): its delivery
/// (<see cref="PullWake"/> or <see cref="Webhook"/>), plus a <see cref="Pattern"/>, explicit
/// <see cref="Streams"/>, or both. The native core checks every field before anything is sent
/// and names the one that is wrong.
/// </summary>
public sealed class SubscriptionOptions
{
    private SubscriptionOptions(SubscriptionType type, string target)
    {
        Type = type;
        Target = target;
    }

    /// <summary>A pull-wake subscription: the server appends wake events to <paramref name="wakeStream"/> (a stream-root-relative path of a stream the application creates) and workers claim them.</summary>
    /// <param name="wakeStream">The wake channel, e.g. <c>wake/pool</c>.</param>
    public static SubscriptionOptions PullWake(string wakeStream)
    {
        ArgumentException.ThrowIfNullOrEmpty(wakeStream);
        return new SubscriptionOptions(SubscriptionType.PullWake, wakeStream);
    }

    /// <summary>A webhook subscription: the server <c>POST</c>s each wake to <paramref name="url"/>, signed with its Ed25519 key.</summary>
    /// <param name="url">An <c>https://</c> URL, or <c>http://localhost</c> / <c>http://127.0.0.x</c> for development.</param>
    public static SubscriptionOptions Webhook(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return new SubscriptionOptions(SubscriptionType.Webhook, url.OriginalString);
    }

    /// <summary>The delivery mechanism.</summary>
    public SubscriptionType Type { get; }

    /// <summary>The wake stream (pull-wake) or the webhook URL.</summary>
    public string Target { get; }

    /// <summary>The glob of stream-root-relative paths to follow: <c>*</c> matches one segment, <c>**</c> any number.</summary>
    public string? Pattern { get; set; }

    /// <summary>Streams linked explicitly, in addition to the pattern.</summary>
    public IList<string> Streams { get; } = new List<string>();

    /// <summary>How long a worker's claim lasts without a heartbeat: 1 second to 10 minutes; the server's default (30 s) when null.</summary>
    public TimeSpan? LeaseTtl { get; set; }

    /// <summary>A human-readable description.</summary>
    public string? Description { get; set; }
}
