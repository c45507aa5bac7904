namespace S2.StreamStore.Interop;

/// <summary>One native <c>S2Stream</c> handle and its data-plane calls.</summary>
internal sealed unsafe class NativeStream : IDisposable
{
    private const string PublicName = nameof(S2Stream);

    private readonly StreamHandle _handle;

    internal NativeStream(StreamHandle handle) => _handle = handle;

    internal Task<StreamPosition> CheckTail(CancellationToken token) =>
        NativeCall<StreamPosition>.Start(_handle, PublicName, token, 0, static (_, target, cancel, userData) =>
            NativeMethods.s2_stream_check_tail((S2NativeStream*)target, (S2NativeCancel*)cancel, NativeCallbacks.Position, (void*)userData));

    internal Task<AppendAck> Append(IReadOnlyList<AppendRecord> records, AppendOptions? options, CancellationToken token)
    {
        PinnedRecords pinned;
        try
        {
            pinned = new PinnedRecords(records, options);
        }
        catch (Exception e)
        {
            return Task.FromException<AppendAck>(e);
        }
        using (pinned)
        {
            return NativeCall<AppendAck>.Start(_handle, PublicName, token, pinned, static (p, target, cancel, userData) =>
            {
                var conditions = p.Conditions;
                NativeMethods.s2_stream_append((S2NativeStream*)target, p.Records, p.Count, p.HasConditions ? &conditions : null, (S2NativeCancel*)cancel, NativeCallbacks.Append, (void*)userData);
            });
        }
    }

    internal Task<AppendAck> Fence(string token, AppendOptions? options, CancellationToken cancellationToken)
    {
        var bytes = NativeString.Utf8Z(token, "fencingToken")!;
        var tokenCondition = NativeString.Utf8Z(options?.FencingToken, "options.FencingToken");
        return NativeCall<AppendAck>.Start(_handle, PublicName, cancellationToken, (bytes, tokenCondition, options), static (s, target, cancel, userData) =>
        {
            fixed (byte* t = s.bytes)
            fixed (byte* c = s.tokenCondition)
            {
                var conditions = Conditions(s.options, c);
                NativeMethods.s2_stream_fence((S2NativeStream*)target, t, s.options is null ? null : &conditions, (S2NativeCancel*)cancel, NativeCallbacks.Append, (void*)userData);
            }
        });
    }

    internal Task<AppendAck> Trim(ulong trimPoint, AppendOptions? options, CancellationToken cancellationToken)
    {
        var tokenCondition = NativeString.Utf8Z(options?.FencingToken, "options.FencingToken");
        return NativeCall<AppendAck>.Start(_handle, PublicName, cancellationToken, (trimPoint, tokenCondition, options), static (s, target, cancel, userData) =>
        {
            fixed (byte* c = s.tokenCondition)
            {
                var conditions = Conditions(s.options, c);
                NativeMethods.s2_stream_trim((S2NativeStream*)target, s.trimPoint, s.options is null ? null : &conditions, (S2NativeCancel*)cancel, NativeCallbacks.Append, (void*)userData);
            }
        });
    }

    internal Task<ReadBatch?> Read(ReadOptions options, CancellationToken token) =>
        NativeCall<ReadBatch?>.Start(_handle, PublicName, token, Args(options), static (args, target, cancel, userData) =>
            NativeMethods.s2_stream_read((S2NativeStream*)target, &args, (S2NativeCancel*)cancel, NativeCallbacks.Batch, (void*)userData));

    internal Task<ReadSessionHandle> OpenReadSession(ReadSessionOptions options, CancellationToken token) =>
        NativeCall<ReadSessionHandle>.Start(_handle, PublicName, token, (args: Args(options), options.RetryForever), static (s, target, cancel, userData) =>
        {
            var args = s.args;
            NativeMethods.s2_read_session_open((S2NativeStream*)target, &args, s.RetryForever, (S2NativeCancel*)cancel, NativeCallbacks.ReadSession, (void*)userData);
        });

    internal AppendSessionHandle OpenAppendSession(byte[] optionsJson)
    {
        using var lease = Lease();
        S2NativeAppendSession* output = null;
        S2NativeError* error;
        fixed (byte* p = optionsJson)
        {
            error = NativeMethods.s2_append_session_open((S2NativeStream*)lease.Pointer, p, &output);
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
        var handle = new AppendSessionHandle();
        handle.Adopt((nint)output);
        return handle;
    }

    internal ProducerHandle OpenProducer(byte[] optionsJson)
    {
        using var lease = Lease();
        S2NativeProducer* output = null;
        S2NativeError* error;
        fixed (byte* p = optionsJson)
        {
            error = NativeMethods.s2_producer_open((S2NativeStream*)lease.Pointer, p, &output);
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
        var handle = new ProducerHandle();
        handle.Adopt((nint)output);
        return handle;
    }

    private static S2AppendConditionsNative Conditions(AppendOptions? options, byte* token) => new()
    {
        HasMatchSeqNum = options?.MatchSeqNum is not null ? (byte)1 : (byte)0,
        MatchSeqNum = options?.MatchSeqNum ?? 0,
        FencingToken = token,
    };

    internal static S2ReadArgsNative Args(ReadOptions options)
    {
        int wait = -1;
        if (options.Wait is { } w)
        {
            if (w < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException("options.Wait", w, "Must not be negative.");
            }
            wait = (int)Math.Min(w.TotalSeconds, int.MaxValue);
        }
        if (options.Start.Kind is not (ReadStartKind.SequenceNumber or ReadStartKind.Timestamp or ReadStartKind.TailOffset))
        {
            throw new ArgumentOutOfRangeException("options.Start", options.Start.Kind, "Unknown start kind.");
        }
        return new S2ReadArgsNative
        {
            StartKind = (int)options.Start.Kind,
            Start = options.Start.Value,
            ClampToTail = options.Clamp ? (byte)1 : (byte)0,
            Count = options.Count ?? 0,
            Bytes = options.Bytes ?? 0,
            HasUntil = options.Until.HasValue ? (byte)1 : (byte)0,
            UntilTimestamp = options.Until ?? 0,
            WaitSecs = wait,
            IgnoreCommandRecords = options.IgnoreCommandRecords ? (byte)1 : (byte)0,
        };
    }

    private HandleLease Lease()
    {
        try
        {
            return _handle.Lease();
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(PublicName);
        }
    }

    public void Dispose() => _handle.Dispose();
}
