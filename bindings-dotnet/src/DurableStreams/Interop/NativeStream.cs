namespace DurableStreams.Interop;

/// <summary>
/// The native stream handle (<c>DsStream</c>): one stream URL of a <see cref="NativeClient"/>.
/// Released by its SafeHandle when collected. Every call fails with
/// <see cref="ObjectDisposedException"/> once the client is disposed.
/// </summary>
internal sealed unsafe class NativeStream : NativeObject
{
    /// <summary>Strings up to this many UTF-8 bytes are encoded on the stack for a call.</summary>
    private const int StackStringBytes = 256;

    private readonly NativeClient _client;
    private readonly StreamHandle _handle;

    internal NativeStream(NativeClient client, StreamHandle handle)
    {
        _client = client;
        _handle = handle;
        using var lease = handle.Lease();
        Url = NativeString.TakeOwned(NativeMethods.ds_stream_url((DsStream*)lease.Pointer)) ?? string.Empty;
    }

    private protected override string PublicName => nameof(DurableStream);

    private protected override NativeHandle Handle => _handle;

    /// <summary>The stream's absolute URL (<c>ds_stream_url</c>).</summary>
    internal string Url { get; }

    /// <inheritdoc/>
    internal override HandleLease Lease()
    {
        if (_client.IsDisposed)
        {
            // As DurableStreamClient.ThrowIfDisposed reports it.
            throw new ObjectDisposedException(typeof(DurableStreamClient).FullName);
        }
        return base.Lease();
    }

    /// <summary>The content type this handle knows; null when unknown.</summary>
    internal string? ContentType
    {
        get
        {
            using var lease = Lease();
            return NativeString.TakeOwned(NativeMethods.ds_stream_content_type((DsStream*)lease.Pointer));
        }
    }

    /// <summary>Records the stream's content type.</summary>
    /// <exception cref="ArgumentException">The core rejected it.</exception>
    internal void SetContentType(string contentType)
    {
        var bytes = NativeString.ToUtf8Z(contentType, nameof(contentType));
        DsError* error;
        using (var lease = Lease())
        {
            fixed (byte* c = bytes)
            {
                error = NativeMethods.ds_stream_set_content_type((DsStream*)lease.Pointer, c);
            }
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, nameof(contentType));
        }
    }

    /// <summary>
    /// Appends <paramref name="data"/> (copied before this returns) in one request.
    /// <paramref name="seq"/>: the <c>Stream-Seq</c>, or null; <paramref name="contentType"/>:
    /// null for the stream's; <paramref name="close"/>: close the stream with this append.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="seq"/> or <paramref name="contentType"/> holds a NUL (named <paramref name="paramName"/>).</exception>
    internal Task<AppendResult> AppendAsync(ReadOnlySpan<byte> data, string? seq, string? contentType, bool close, IReadOnlyDictionary<string, string>? headers, string paramName, CancellationToken cancellationToken)
    {
        using var pinnedHeaders = PinnedHeaders.Pin(headers, paramName);
        var seqLength = NativeString.MaxUtf8ZLength(seq);
        var contentTypeLength = NativeString.MaxUtf8ZLength(contentType);
        Span<byte> seqBuffer = seqLength == 0 ? default
            : seqLength <= StackStringBytes ? stackalloc byte[StackStringBytes] : new byte[seqLength];
        Span<byte> contentTypeBuffer = contentTypeLength == 0 ? default
            : contentTypeLength <= StackStringBytes ? stackalloc byte[StackStringBytes] : new byte[contentTypeLength];
        var seqZ = NativeString.Utf8Z(seq, seqBuffer, paramName);
        var contentTypeZ = NativeString.Utf8Z(contentType, contentTypeBuffer, paramName);
        fixed (byte* d = data)
        fixed (byte* s = seqZ)
        fixed (byte* c = contentTypeZ)
        {
            var args = new DsAppendArgs
            {
                Seq = s,
                ContentType = c,
                Close = close ? (byte)1 : (byte)0,
                Headers = pinnedHeaders.Pointer,
                HeaderCount = pinnedHeaders.Count,
            };
            return NativeCall<AppendResult>.Start(
                this,
                cancellationToken,
                null,
                (Data: (nint)d, Length: (nuint)data.Length, Args: (nint)(&args)),
                static (a, stream, cancel, userData) => NativeMethods.ds_stream_append(
                    (DsStream*)stream, (byte*)a.Data, a.Length, (DsAppendArgs*)a.Args, (DsCancel*)cancel, NativeCallbacks.Append, (void*)userData));
        }
    }

    /// <summary>Reads the stream's metadata (<c>HEAD</c>).</summary>
    internal Task<StreamMetadata> HeadAsync(CancellationToken cancellationToken) =>
        NativeCall<StreamMetadata>.Start(
            this,
            cancellationToken,
            null,
            0,
            static (_, stream, cancel, userData) => NativeMethods.ds_stream_head(
                (DsStream*)stream, (DsCancel*)cancel, NativeCallbacks.Head, (void*)userData));

    /// <summary>Deletes the stream (<c>DELETE</c>); completes with true.</summary>
    internal Task<bool> DeleteAsync(CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(
            this,
            cancellationToken,
            null,
            0,
            static (_, stream, cancel, userData) => NativeMethods.ds_stream_delete(
                (DsStream*)stream, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData));

    /// <summary>Creates the stream (<c>PUT</c>) with <paramref name="options"/> (validated by the caller; null for defaults).</summary>
    internal Task<CreateStreamDetails> CreateAsync(CreateStreamOptions? options, CancellationToken cancellationToken)
    {
        var json = options is null ? null : OptionsJson.Build(options, static (w, o) =>
        {
            if (o.ContentType is not null)
            {
                OptionsJson.WriteString(w, "content_type", o.ContentType, nameof(o.ContentType));
            }
            if (o.Ttl is { } ttl)
            {
                w.WriteNumber("ttl_seconds", (long)ttl.TotalSeconds);
            }
            if (o.ExpiresAt is { } at)
            {
                w.WriteString("expires_at", CreateStreamOptions.FormatExpiresAt(at));
            }
            if (o.Closed)
            {
                w.WriteBoolean("closed", true);
            }
            if (o.Headers is { Count: > 0 } headers)
            {
                w.WriteStartObject("headers");
                HeaderChecks.Validate(headers, "Headers", nameof(o.Headers));
                foreach (var (name, value) in headers)
                {
                    w.WriteString(name, value);
                }
                w.WriteEndObject();
            }
            if (o.ForkFrom is not null)
            {
                w.WriteStartObject("fork");
                OptionsJson.WriteString(w, "source", o.ForkFrom, nameof(o.ForkFrom));
                if (o.ForkOffset is { } forkOffset)
                {
                    OptionsJson.WriteString(w, "offset", forkOffset.WireValue, nameof(o.ForkOffset));
                }
                if (o.ForkSubOffset is { } sub)
                {
                    w.WriteNumber("sub_offset", sub);
                }
                w.WriteEndObject();
            }
        });
        ReadOnlyMemory<byte> body = options?.InitialData ?? [];
        fixed (byte* j = json)
        fixed (byte* b = body.Span)
        {
            return NativeCall<CreateStreamDetails>.Start(
                this,
                cancellationToken,
                null,
                (Json: (nint)j, Body: (nint)b, Length: (nuint)body.Length),
                static (a, stream, cancel, userData) => NativeMethods.ds_stream_create(
                    (DsStream*)stream, (byte*)a.Json, (byte*)a.Body, a.Length, (DsCancel*)cancel, NativeCallbacks.Create, (void*)userData));
        }
    }
}
