namespace StreamDingo;

/// <summary>Checks stored events and snapshots against their hashes. Every load goes through it; it can also audit a whole stream.</summary>
public sealed class IntegrityVerifier
{
    private readonly IHashProvider _hashProvider;

    /// <summary>A verifier using <paramref name="hashProvider"/>.</summary>
    /// <param name="hashProvider">The hash provider the events and snapshots were written with.</param>
    public IntegrityVerifier(IHashProvider hashProvider)
    {
        ArgumentNullException.ThrowIfNull(hashProvider);
        _hashProvider = hashProvider;
    }

    /// <summary>Checks that an envelope follows <paramref name="expectedPreviousHash"/> and that its content hashes to its <see cref="EventEnvelope.Hash"/>.</summary>
    /// <param name="envelope">The envelope.</param>
    /// <param name="expectedVersion">The version it must have.</param>
    /// <param name="expectedPreviousHash">The hash of the event before it (null: trust the envelope's own previous hash, for a read that starts mid-stream).</param>
    /// <exception cref="EventIntegrityException">The envelope is out of place or its content was changed.</exception>
    public void VerifyEvent(EventEnvelope envelope, long expectedVersion, string? expectedPreviousHash)
    {
        VerifyPlace(envelope, expectedVersion, expectedPreviousHash);
        if (CheckContent(envelope) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// <see cref="VerifyEvent"/> for a run of consecutive events, faster: their content hashes are
    /// computed together (eight at a time with SHA-256 where the hardware has 256-bit vectors). The
    /// first failure in order is thrown, as checking them one by one would.
    /// </summary>
    /// <param name="envelopes">Consecutive envelopes of one stream.</param>
    /// <param name="expectedFirstVersion">The version the first must have (the next ones follow it).</param>
    /// <param name="expectedPreviousHash">The hash of the event before the first (null: trust the first envelope's own previous hash).</param>
    /// <exception cref="EventIntegrityException">An envelope is out of place or its content was changed.</exception>
    public void VerifyEvents(ReadOnlySpan<EventEnvelope> envelopes, long expectedFirstVersion, string? expectedPreviousHash)
    {
        const int Batch = 256;
        var failures = System.Buffers.ArrayPool<EventIntegrityException?>.Shared.Rent(Batch);
        try
        {
            var previous = expectedPreviousHash;
            for (var start = 0; start < envelopes.Length; start += Batch)
            {
                var part = envelopes.Slice(start, Math.Min(Batch, envelopes.Length - start));
                CheckContents(part, failures);
                for (var i = 0; i < part.Length; i++)
                {
                    VerifyPlace(part[i], expectedFirstVersion + start + i, previous);
                    if (failures[i] is { } failure)
                    {
                        throw failure;
                    }
                    previous = part[i].Hash;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<EventIntegrityException?>.Shared.Return(failures, clearArray: true);
        }
    }

    /// <summary>The version and previous-hash checks of <see cref="VerifyEvent"/>, in its order.</summary>
    internal static void VerifyPlace(EventEnvelope envelope, long expectedVersion, string? expectedPreviousHash)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Version != expectedVersion)
        {
            throw new EventIntegrityException(envelope.StreamId, expectedVersion, $"expected version {expectedVersion} but the stored event says {envelope.Version} (an event is missing, duplicated or reordered)");
        }
        if (expectedPreviousHash is not null && !ReferenceEquals(envelope.PreviousHash, expectedPreviousHash) && !HashEquals(envelope.PreviousHash, expectedPreviousHash))
        {
            throw new EventIntegrityException(envelope.StreamId, envelope.Version, $"its previous hash {envelope.PreviousHash} is not the hash of the event before it, {expectedPreviousHash} (the chain is broken)");
        }
    }

    /// <summary>The content check of <see cref="VerifyEvent"/>: null when the envelope hashes to its hash, else the failure to report. Depends on nothing but the envelope, so envelopes can be checked in parallel.</summary>
    internal EventIntegrityException? CheckContent(EventEnvelope envelope)
    {
        bool matches;
        try
        {
            matches = EventHashChain.Matches(_hashProvider, envelope);
        }
        catch (FormatException e)
        {
            return new EventIntegrityException(envelope.StreamId, envelope.Version, e.Message);
        }
        if (!matches)
        {
            var actual = EventHashChain.Compute(_hashProvider, envelope);
            return new EventIntegrityException(envelope.StreamId, envelope.Version, $"its content hashes to {actual} but it carries {envelope.Hash} (the event was changed after it was written)");
        }
        return null;
    }

    /// <summary>
    /// <see cref="CheckContent"/> for many envelopes: with SHA-256 on hardware with 256-bit vectors,
    /// eight envelopes are hashed at once (<see cref="Sha256MultiBuffer"/>); a mismatch is checked
    /// again one by one, which also words the failure.
    /// </summary>
    internal void CheckContents(ReadOnlySpan<EventEnvelope> envelopes, Span<EventIntegrityException?> failures)
    {
        if (_hashProvider is not Sha256HashProvider || !Sha256MultiBuffer.IsSupported)
        {
            for (var i = 0; i < envelopes.Length; i++)
            {
                failures[i] = CheckContent(envelopes[i]);
            }
            return;
        }
        const int MaxInput = (Sha256MultiBuffer.MaxBlocks * 64) - 9;
        Span<byte> inputs = stackalloc byte[Sha256MultiBuffer.Lanes * MaxInput];
        Span<int> starts = stackalloc int[Sha256MultiBuffer.Lanes];
        Span<int> lengths = stackalloc int[Sha256MultiBuffer.Lanes];
        Span<int> indexes = stackalloc int[Sha256MultiBuffer.Lanes];
        Span<byte> hashes = stackalloc byte[Sha256MultiBuffer.Lanes * 32];
        int pending = 0, at = 0;
        for (var i = 0; i < envelopes.Length; i++)
        {
            var envelope = envelopes[i];
            var length = EventHashChain.InputLength(envelope);
            if (length > MaxInput || !EventHashChain.TryWriteInput(envelope, inputs.Slice(at, length)))
            {
                failures[i] = CheckContent(envelope); // a long event, or a previous hash that is not hexadecimal
                continue;
            }
            (starts[pending], lengths[pending], indexes[pending]) = (at, length, i);
            pending++;
            at += length;
            if (pending == Sha256MultiBuffer.Lanes)
            {
                Flush(envelopes, failures, inputs, starts, lengths, indexes, hashes, pending);
                pending = at = 0;
            }
        }
        if (pending > 0)
        {
            Flush(envelopes, failures, inputs, starts, lengths, indexes, hashes, pending);
        }
    }

    private void Flush(ReadOnlySpan<EventEnvelope> envelopes, Span<EventIntegrityException?> failures, ReadOnlySpan<byte> inputs, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths, ReadOnlySpan<int> indexes, Span<byte> hashes, int count)
    {
        Sha256MultiBuffer.Hash(inputs, starts, lengths, count, hashes);
        for (var k = 0; k < count; k++)
        {
            var envelope = envelopes[indexes[k]];
            failures[indexes[k]] = EventHashChain.HashEquals(hashes.Slice(k * 32, 32), envelope.Hash) ? null : CheckContent(envelope);
        }
    }

    /// <summary>Checks that a stored snapshot's state bytes hash to its <see cref="SnapshotRecord.Hash"/>.</summary>
    /// <param name="snapshot">The stored snapshot.</param>
    /// <exception cref="SnapshotIntegrityException">The state does not match its hash.</exception>
    public void VerifySnapshot(SnapshotRecord snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var actual = _hashProvider.ComputeHashHex(snapshot.State.Span);
        if (!HashEquals(actual, snapshot.Hash))
        {
            throw new SnapshotIntegrityException(snapshot.StreamId, snapshot.Version, snapshot.Hash, actual);
        }
    }

    /// <summary>Reads a whole stream and checks every event's chain hash.</summary>
    /// <param name="store">The store.</param>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the audit.</param>
    /// <returns>The number of events checked.</returns>
    /// <exception cref="EventIntegrityException">The first event that does not verify.</exception>
    public async ValueTask<long> VerifyStreamAsync(IEventStore store, string streamId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var previous = EventHashChain.GenesisHash;
        long version = 0;
        // Checked in runs of 1,024 (VerifyEvents: content hashes computed together).
        var run = new List<EventEnvelope>(1024);
        await foreach (var envelope in store.ReadEnvelopesAsync(streamId, 0, cancellationToken).ConfigureAwait(false))
        {
            run.Add(envelope);
            if (run.Count == run.Capacity)
            {
                (version, previous) = VerifyRun(run, version, previous);
            }
        }
        (version, _) = VerifyRun(run, version, previous);
        return version;
    }

    private (long Version, string Hash) VerifyRun(List<EventEnvelope> run, long version, string previous)
    {
        if (run.Count == 0)
        {
            return (version, previous);
        }
        VerifyEvents(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(run), version + 1, previous);
        var last = run[^1];
        run.Clear();
        return (last.Version, last.Hash);
    }

    // Hashes are public values (no timing side channel to protect); case-insensitive hexadecimal.
    private static bool HashEquals(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
