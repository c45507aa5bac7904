namespace DurableStreams.Webhooks;

/// <summary>Options of a <see cref="WebhookVerifier"/>.</summary>
public sealed class WebhookVerifierOptions
{
    /// <summary>The default <see cref="Tolerance"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The server's JWK Set (the <c>jwks_url</c> of a webhook subscription's signing metadata).
    /// Null (the default): <c>{client BaseUrl}/__ds/jwks.json</c>.
    /// </summary>
    public Uri? JwksUrl { get; set; }

    /// <summary>
    /// The accepted distance between a delivery's signature timestamp and the clock, either way
    /// (default 5 minutes; 1 second to 1 hour). Older or future deliveries are rejected.
    /// </summary>
    public TimeSpan Tolerance { get; set; } = DefaultTolerance;

    /// <summary>
    /// The one subscription this receiver serves: wakes of any other are rejected. Null (the
    /// default) accepts every subscription of the server.
    /// </summary>
    public string? SubscriptionId { get; set; }
}

/// <summary>
/// A webhook delivery was rejected and must not be processed: its <c>Webhook-Signature</c> is
/// malformed, its timestamp is outside the window, its key is unknown, its signature does not match
/// the body, it is a replay, or it is for another subscription. Answer HTTP 401.
/// </summary>
public sealed class WebhookRejectedException : DurableStreamException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the delivery was rejected.</param>
    /// <param name="innerException">The native error's exception, if any.</param>
    public WebhookRejectedException(string message, Exception? innerException = null)
        : base(message, DurableStreamErrorCode.Unauthorized, 401, null, innerException)
    {
    }
}
