namespace S2.StreamStore.Interop;

/// <summary>One native <c>S2Client</c>: creation and the control-plane calls (JSON in, JSON out).</summary>
internal sealed unsafe class NativeClient : IDisposable
{
    private const string PublicName = nameof(S2Client);

    private readonly ClientHandle _handle = new();

    internal NativeClient(S2Options options)
    {
        var json = OptionsJson.ClientOptions(options);
        NativeLibraryGuard.EnsureLoaded();
        S2NativeClient* client = null;
        S2NativeError* error;
        fixed (byte* p = json)
        {
            error = NativeMethods.s2_client_new(p, &client);
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, nameof(options));
        }
        _handle.Adopt((nint)client);
    }

    /// <summary>A control-plane call with up to three string arguments and a flag; result JSON.</summary>
    internal Task<string> Call(ControlCall call, byte[]? a, byte[]? b, byte[]? c, bool flag, CancellationToken token) =>
        NativeCall<string>.Start(_handle, PublicName, token, (call, a, b, c, flag), static (s, target, cancel, userData) =>
        {
            var client = (S2NativeClient*)target;
            var cb = NativeCallbacks.Json;
            var cn = (S2NativeCancel*)cancel;
            fixed (byte* pa = s.a)
            fixed (byte* pb = s.b)
            fixed (byte* pc = s.c)
            {
                switch (s.call)
                {
                    case ControlCall.ListBasins: NativeMethods.s2_basins_list(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.CreateBasin: NativeMethods.s2_basin_create(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.EnsureBasin: NativeMethods.s2_basin_ensure(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.GetBasinConfig: NativeMethods.s2_basin_get_config(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.ReconfigureBasin: NativeMethods.s2_basin_reconfigure(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.DeleteBasin: NativeMethods.s2_basin_delete(client, pa, s.flag, cn, cb, (void*)userData); break;
                    case ControlCall.ListStreams: NativeMethods.s2_streams_list(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.CreateStream: NativeMethods.s2_stream_create(client, pa, pb, pc, cn, cb, (void*)userData); break;
                    case ControlCall.EnsureStream: NativeMethods.s2_stream_ensure(client, pa, pb, pc, cn, cb, (void*)userData); break;
                    case ControlCall.GetStreamConfig: NativeMethods.s2_stream_get_config(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.ReconfigureStream: NativeMethods.s2_stream_reconfigure(client, pa, pb, pc, cn, cb, (void*)userData); break;
                    case ControlCall.DeleteStream: NativeMethods.s2_stream_delete(client, pa, pb, s.flag, cn, cb, (void*)userData); break;
                    case ControlCall.IssueAccessToken: NativeMethods.s2_access_token_issue(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.ListAccessTokens: NativeMethods.s2_access_tokens_list(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.RevokeAccessToken: NativeMethods.s2_access_token_revoke(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.AccountMetrics: NativeMethods.s2_account_metrics(client, pa, cn, cb, (void*)userData); break;
                    case ControlCall.BasinMetrics: NativeMethods.s2_basin_metrics(client, pa, pb, cn, cb, (void*)userData); break;
                    case ControlCall.StreamMetrics: NativeMethods.s2_stream_metrics(client, pa, pb, pc, cn, cb, (void*)userData); break;
                    case ControlCall.ListLocations: NativeMethods.s2_locations_list(client, cn, cb, (void*)userData); break;
                    case ControlCall.GetDefaultLocation: NativeMethods.s2_location_get_default(client, cn, cb, (void*)userData); break;
                    case ControlCall.SetDefaultLocation: NativeMethods.s2_location_set_default(client, pa, cn, cb, (void*)userData); break;
                    default: throw new ArgumentOutOfRangeException(nameof(call));
                }
            }
        });

    /// <summary>Opens a native stream handle (names checked by the library too).</summary>
    internal NativeStream OpenStream(string basin, string stream)
    {
        var b = NativeString.Utf8Z(basin, nameof(basin))!;
        var s = NativeString.Utf8Z(stream, nameof(stream))!;
        using var lease = Lease();
        S2NativeStream* output = null;
        S2NativeError* error;
        fixed (byte* pb = b)
        fixed (byte* ps = s)
        {
            error = NativeMethods.s2_stream_open((S2NativeClient*)lease.Pointer, pb, ps, &output);
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, nameof(stream));
        }
        var handle = new StreamHandle();
        handle.Adopt((nint)output);
        return new NativeStream(handle);
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

/// <summary>The control-plane functions of the header.</summary>
internal enum ControlCall
{
    ListBasins,
    CreateBasin,
    EnsureBasin,
    GetBasinConfig,
    ReconfigureBasin,
    DeleteBasin,
    ListStreams,
    CreateStream,
    EnsureStream,
    GetStreamConfig,
    ReconfigureStream,
    DeleteStream,
    IssueAccessToken,
    ListAccessTokens,
    RevokeAccessToken,
    AccountMetrics,
    BasinMetrics,
    StreamMetrics,
    ListLocations,
    GetDefaultLocation,
    SetDefaultLocation,
}
