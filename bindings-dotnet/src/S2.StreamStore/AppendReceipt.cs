using S2.StreamStore.Interop;

namespace S2.StreamStore;

/// <summary>
/// A submission to an <see cref="AppendSession"/> or <see cref="Producer"/>: accepted (the session
/// had room) and, once stored, acknowledged through <see cref="Acknowledgement"/>.
/// </summary>
public sealed class AppendReceipt
{
    private readonly PendingSubmission _pending;

    internal AppendReceipt(PendingSubmission pending) => _pending = pending;

    /// <summary>Completes with the batch's positions once stored (fails with the submission's error).</summary>
    public Task<AppendAck> Acknowledgement => _pending.Acknowledged;

    /// <summary>Whether it was acknowledged.</summary>
    public bool IsAcknowledged => _pending.Acknowledged.IsCompletedSuccessfully;

    /// <summary>
    /// Once acknowledged: the sequence number of the first record (for a producer, of the record);
    /// null before.
    /// </summary>
    public ulong? SequenceNumber => IsAcknowledged ? _pending.SequenceNumber : null;
}
