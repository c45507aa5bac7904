namespace DurableStreams.Subscriptions;

/// <summary>
/// A subscription with this id already exists with a different configuration (HTTP 409). Creating it
/// again with the identical configuration succeeds (<see cref="SubscriptionCreateResult.Created"/> false).
/// </summary>
public sealed class SubscriptionConflictException : DurableStreamException
{
    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The subscription's control URL.</param>
    public SubscriptionConflictException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.SubscriptionConflict, statusCode, url)
    {
    }
}

/// <summary>
/// The wake this request belongs to is no longer current (HTTP 409 <c>FENCED</c>): its lease
/// expired or another wake replaced it. Nothing was applied: no cursor moved.
/// </summary>
public sealed class SubscriptionFencedException : DurableStreamException
{
    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The request's URL.</param>
    public SubscriptionFencedException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.Fenced, statusCode, url)
    {
    }
}

/// <summary>
/// The server does not implement the protocol's subscriptions (Electric's server, for one): every
/// subscription call fails fast with this exception.
/// </summary>
public sealed class SubscriptionsNotSupportedException : DurableStreamException
{
    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status the server answered, if any.</param>
    /// <param name="url">The request's URL.</param>
    public SubscriptionsNotSupportedException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.SubscriptionsNotSupported, statusCode, url)
    {
    }
}
