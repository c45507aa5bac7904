namespace S2.StreamStore;

/// <summary>Conditions on an append.</summary>
public sealed class AppendOptions
{
    /// <summary>The append succeeds only if the stream's next sequence number is this one (else <see cref="SeqNumMismatchException"/>).</summary>
    public ulong? MatchSeqNum { get; set; }

    /// <summary>The append succeeds only if the stream's fencing token is this one (else <see cref="FencingTokenMismatchException"/>).</summary>
    public string? FencingToken { get; set; }
}
