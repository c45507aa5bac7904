using DurableStreams.Subscriptions;

namespace DurableStreams.Webhooks;

/// <summary>
/// How to answer a webhook wake later (<see cref="WebhookVerifier.CallbackAsync"/>): the callback
/// URL, the wake and its callback token. A receiver that defers the work may store these four values
/// and answer after a restart. <see cref="ToString"/> never shows the token.
/// </summary>
public sealed class WebhookCallback
{
    /// <summary>Creates a callback target from saved parts.</summary>
    /// <param name="url">The wake's callback URL (<c>{stream root}/__ds/subscriptions/{id}/callback</c>).</param>
    /// <param name="wakeId">The wake's id.</param>
    /// <param name="generation">The wake's generation.</param>
    /// <param name="token">The wake's callback token (a secret).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The URL is not absolute http(s), or an id or the token is empty.</exception>
    public WebhookCallback(Uri url, string wakeId, long generation, string token)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrEmpty(wakeId);
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The callback URL must be an absolute http or https URL.", nameof(url));
        }
        Url = url;
        WakeId = wakeId;
        Generation = generation;
        Token = token;
    }

    /// <summary>The callback URL.</summary>
    public Uri Url { get; }

    /// <summary>The wake's unique id.</summary>
    public string WakeId { get; }

    /// <summary>The wake's generation (the subscription's fencing counter).</summary>
    public long Generation { get; }

    /// <summary>The callback token, scoped to the subscription and generation. A secret: never log it.</summary>
    public string Token { get; }

    /// <inheritdoc/>
    public override string ToString() => $"WebhookCallback(WakeId = {WakeId}, Generation = {Generation}, Token = <redacted>)";
}

/// <summary>
/// A verified webhook wake (<see cref="WebhookVerifier.VerifyAsync"/>): the subscription that has
/// pending work, each linked stream's cursor and tail, and how to answer the wake.
/// </summary>
public sealed class WebhookWake
{
    internal WebhookWake(string subscriptionId, IReadOnlyList<ClaimedStream> streams, WebhookCallback callback, DateTimeOffset signedAt, string keyId)
    {
        SubscriptionId = subscriptionId;
        Streams = streams;
        Callback = callback;
        SignedAt = signedAt;
        KeyId = keyId;
    }

    /// <summary>The subscription that woke.</summary>
    public string SubscriptionId { get; }

    /// <summary>The wake's unique id.</summary>
    public string WakeId => Callback.WakeId;

    /// <summary>The wake's generation.</summary>
    public long Generation => Callback.Generation;

    /// <summary>Every linked stream: process each from <see cref="ClaimedStream.AckedOffset"/> (exclusive) to <see cref="ClaimedStream.TailOffset"/>.</summary>
    public IReadOnlyList<ClaimedStream> Streams { get; }

    /// <summary>How to answer the wake later.</summary>
    public WebhookCallback Callback { get; }

    /// <summary>When the server signed the delivery (the signature's timestamp, whole seconds).</summary>
    public DateTimeOffset SignedAt { get; }

    /// <summary>The id of the server key that signed the delivery.</summary>
    public string KeyId { get; }

    /// <summary>
    /// The processed position of every stream that had pending work: its tail when the wake was issued
    /// (what answering <c>{ "done": true }</c> acks on the server's side).
    /// </summary>
    /// <returns>One ack per pending stream.</returns>
    public IReadOnlyList<SubscriptionAck> TailAcks() =>
        Streams.Where(s => s.HasPending).Select(s => new SubscriptionAck(s.Path, s.TailOffset)).ToList();

    /// <inheritdoc/>
    public override string ToString() =>
        $"WebhookWake(SubscriptionId = {SubscriptionId}, WakeId = {WakeId}, Generation = {Generation}, Streams = {Streams.Count})";
}
