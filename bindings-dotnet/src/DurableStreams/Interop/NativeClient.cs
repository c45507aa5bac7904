using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// The native client (<c>DsClient</c>): connection pool, configuration, decorator and event
/// callback. Owns its <see cref="DynamicHeaderProvider"/> and releases everything on
/// <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class NativeClient : NativeObject
{
    private readonly ClientHandle _handle;
    private readonly DynamicHeaderProvider? _dynamicHeaders;
    private int _disposed;

    private NativeClient(ClientHandle handle, DynamicHeaderProvider? dynamicHeaders)
    {
        _handle = handle;
        _dynamicHeaders = dynamicHeaders;
    }

    private protected override string PublicName => nameof(DurableStreamClient);

    private protected override NativeHandle Handle => _handle;

    /// <summary>The version of the loaded core library (<c>ds_version()</c>).</summary>
    internal static string CoreVersion => NativeLibraryGuard.NativeVersion;

    /// <summary>
    /// Creates the native client from <paramref name="options"/> (validated by the caller) and
    /// routes its events to <paramref name="events"/> from the debug level up.
    /// </summary>
    /// <exception cref="ArgumentException">The core rejected an option (parameter <c>options</c>).</exception>
    internal static NativeClient Create(DurableStreamClientOptions options, string userAgent, INativeEventHandler events)
    {
        NativeLibraryGuard.EnsureLoaded();
        var json = OptionsJson.Build((options, userAgent), static (w, s) =>
        {
            var (o, agent) = s;
            if (o.BaseUrl is not null)
            {
                OptionsJson.WriteString(w, "base_url", o.BaseUrl.TrimEnd('/'), nameof(o.BaseUrl));
            }
            w.WriteStartObject("headers");
            foreach (var (name, value) in o.DefaultHeaders ?? [])
            {
                OptionsJson.WriteString(w, name, value, nameof(o.DefaultHeaders));
            }
            w.WriteEndObject();
            w.WriteNumber("request_timeout_ms", OptionsJson.Milliseconds(o.RequestTimeout));
            w.WriteNumber("connect_timeout_ms", OptionsJson.Milliseconds(o.ConnectTimeout));
            w.WriteNumber("live_timeout_ms", OptionsJson.Milliseconds(o.LiveTimeout));
            w.WriteStartObject("retry");
            w.WriteNumber("max_retries", o.MaxRetries);
            w.WriteNumber("initial_delay_ms", OptionsJson.Milliseconds(o.InitialRetryDelay));
            w.WriteNumber("max_delay_ms", OptionsJson.Milliseconds(o.MaxRetryDelay));
            w.WriteNumber("multiplier", o.RetryMultiplier);
            w.WriteEndObject();
            w.WriteString("append_retry", o.AppendRetry switch
            {
                AppendRetryMode.WhenNotStored => "when_not_stored",
                AppendRetryMode.AtLeastOnce => "at_least_once",
                _ => "never",
            });
            OptionsJson.WriteString(w, "user_agent", agent, "options");
        });

        DynamicHeaderProvider? dynamicHeaders = null;
        if (options.DynamicHeaders is { Count: > 0 } || options.DynamicQueryParameters is { Count: > 0 })
        {
            dynamicHeaders = new DynamicHeaderProvider(options.DynamicHeaders ?? [], options.DynamicQueryParameters ?? []);
        }

        var handle = new ClientHandle();
        GCHandle userData = default;
        if (dynamicHeaders is not null)
        {
            // Weak: the native client lives as long as any of its streams, and the providers'
            // closures may reference those streams (or the client); a strong handle would make
            // that a cycle the GC never collects. This NativeClient (held by every stream)
            // keeps the provider alive while anything can still send a request.
            userData = GCHandle.Alloc(dynamicHeaders, GCHandleType.Weak);
        }
        DsClient* client = null;
        DsError* error;
        fixed (byte* o = json)
        {
            // Ownership of the GCHandle passes to the library (freed through FreeGCHandle, also
            // when this call fails).
            error = dynamicHeaders is null
                ? NativeMethods.ds_client_new(o, null, null, null, &client)
                : NativeMethods.ds_client_new(
                    o,
                    DynamicHeaderProvider.Callback,
                    (void*)GCHandle.ToIntPtr(userData),
                    NativeCallbacks.FreeGCHandle,
                    &client);
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
        handle.Adopt((nint)client);
        try
        {
            SetEventHandler(client, events);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return new NativeClient(handle, dynamicHeaders);
    }

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc/>
    internal override HandleLease Lease()
    {
        if (IsDisposed)
        {
            throw Released();
        }
        return base.Lease();
    }

    /// <summary>A handle to the stream at <paramref name="url"/> (absolute, or relative to the base URL). No I/O.</summary>
    /// <exception cref="ArgumentException">The URL is invalid (named <paramref name="paramName"/>).</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    internal NativeStream OpenStream(string url, string paramName)
    {
        var handle = new StreamHandle();
        var urlBytes = NativeString.ToUtf8Z(url, paramName);
        DsStream* stream = null;
        DsError* error;
        using (var client = Lease())
        {
            fixed (byte* u = urlBytes)
            {
                error = NativeMethods.ds_stream_new((DsClient*)client.Pointer, u, &stream);
            }
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, paramName);
        }
        handle.Adopt((nint)stream);
        return new NativeStream(this, handle);
    }

    /// <summary>Cancels the dynamic header providers and releases the native client (once).</summary>
    internal void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _dynamicHeaders?.Cancel();
        _handle.Dispose();
    }

    private static void SetEventHandler(DsClient* client, INativeEventHandler events)
    {
        var router = GCHandle.Alloc(events);
        // Batch events are debug-level but feed the meter, which listeners may enable at any time.
        var error = NativeMethods.ds_client_set_event_callback(
            client, (int)NativeEventLevel.Debug, &OnEvent, (void*)GCHandle.ToIntPtr(router), NativeCallbacks.FreeGCHandle);
        if (error != null)
        {
            // The library has released the router already.
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnEvent(void* userData, int level, byte* kind, byte* streamUrl, byte* message, DsEventField* fields, nuint fieldCount)
    {
        try
        {
            var handler = (INativeEventHandler)GCHandle.FromIntPtr((nint)userData).Target!;
            handler.OnEvent(new NativeEvent((NativeEventLevel)level, kind, streamUrl, message, fields, (int)fieldCount));
        }
        catch (Exception e)
        {
            // Never unwind into native code; an event is not worth a crash.
            Debug.Fail($"native event handler failed: {e}");
        }
    }
}

/// <summary>Native <c>DsEventLevel</c> values.</summary>
internal enum NativeEventLevel
{
    Debug = 1,
    Information = 2,
    Warning = 3,
    Error = 4,
}

/// <summary>Receives the events of a <see cref="NativeClient"/>, on native threads.</summary>
internal interface INativeEventHandler
{
    /// <summary>One event; its text is only valid (and decoded) during this call.</summary>
    void OnEvent(in NativeEvent e);
}

/// <summary>
/// One native event, borrowed for the duration of <see cref="INativeEventHandler.OnEvent"/>.
/// Nothing is decoded until asked for, so an event nobody listens to costs no allocation.
/// </summary>
internal readonly unsafe ref struct NativeEvent
{
    private readonly byte* _kind;
    private readonly byte* _streamUrl;
    private readonly byte* _message;
    private readonly DsEventField* _fields;
    private readonly int _fieldCount;

    internal NativeEvent(NativeEventLevel level, byte* kind, byte* streamUrl, byte* message, DsEventField* fields, int fieldCount)
    {
        Level = level;
        _kind = kind;
        _streamUrl = streamUrl;
        _message = message;
        _fields = fields;
        _fieldCount = fieldCount;
    }

    internal NativeEventLevel Level { get; }

    /// <summary>The event kind, e.g. <c>retry</c> or <c>batch_sent</c>.</summary>
    internal string Kind => NativeString.Read(_kind) ?? string.Empty;

    /// <summary>The stream URL the event concerns (empty for none).</summary>
    internal string StreamUrl => NativeString.Read(_streamUrl) ?? string.Empty;

    /// <summary>The human-readable message.</summary>
    internal string Message => NativeString.Read(_message) ?? string.Empty;

    /// <summary>Copies the event's key/value fields.</summary>
    internal KeyValuePair<string, string>[] ReadFields()
    {
        var fields = new KeyValuePair<string, string>[_fieldCount];
        for (var i = 0; i < _fieldCount; i++)
        {
            fields[i] = new(NativeString.Read(_fields[i].Key) ?? string.Empty, NativeString.Read(_fields[i].Value) ?? string.Empty);
        }
        return fields;
    }
}
