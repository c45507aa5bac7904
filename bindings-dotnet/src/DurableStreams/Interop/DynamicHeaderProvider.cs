using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// Evaluates <see cref="DurableStreamClientOptions.DynamicHeaders"/> and
/// <see cref="DurableStreamClientOptions.DynamicQueryParameters"/> for the native decorate
/// callback. The callback never blocks: providers that complete synchronously are answered at
/// once; otherwise the providers are awaited and <c>ds_decoration_complete</c> is called later
/// from the continuation. Every decoration is completed exactly once.
/// </summary>
internal sealed class DynamicHeaderProvider
{
    private readonly KeyValuePair<string, Func<CancellationToken, ValueTask<string>>>[] _providers;
    private readonly int _headerCount; // _providers[.._headerCount] are headers, the rest query parameters
    private readonly CancellationTokenSource _lifetime = new();

    internal DynamicHeaderProvider(
        IEnumerable<KeyValuePair<string, Func<CancellationToken, ValueTask<string>>>> headers,
        IEnumerable<KeyValuePair<string, Func<CancellationToken, ValueTask<string>>>> queryParameters)
    {
        var headerArray = headers.ToArray();
        _headerCount = headerArray.Length;
        _providers = headerArray.Concat(queryParameters).ToArray();
    }

    internal static unsafe delegate* unmanaged[Cdecl]<void*, DsRequestInfo*, DsDecoration*, void> Callback => &OnDecorate;

    /// <summary>Cancels the token given to providers (client disposal).</summary>
    internal void Cancel()
    {
        try
        {
            _lifetime.Cancel();
        }
        catch (AggregateException)
        {
            // A provider's registration threw; the providers see the cancellation regardless.
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static unsafe void OnDecorate(void* userData, DsRequestInfo* info, DsDecoration* decoration)
    {
        DynamicHeaderProvider? provider;
        try
        {
            provider = (DynamicHeaderProvider?)GCHandle.FromIntPtr((nint)userData).Target;
        }
        catch (Exception e)
        {
            CompleteError((nint)decoration, e.Message);
            return;
        }
        if (provider is null)
        {
            // Only a request nothing managed can observe any more (its client and streams were collected).
            CompleteError((nint)decoration, "The DurableStreamClient that owns the dynamic headers was collected.");
            return;
        }
        provider.Decorate((nint)decoration);
    }

    private void Decorate(nint decoration)
    {
        ValueTask<string>[]? pending = null;
        string[]? values = null;
        try
        {
            var token = _lifetime.Token;
            values = new string[_providers.Length];
            for (var i = 0; i < _providers.Length; i++)
            {
                var task = _providers[i].Value(token);
                if (pending is null && task.IsCompletedSuccessfully)
                {
                    values[i] = task.Result; // already completed: no blocking
                    continue;
                }
                pending ??= new ValueTask<string>[_providers.Length];
                pending[i] = task;
            }
        }
        catch (Exception e)
        {
            // A provider threw synchronously. Providers already started are abandoned; the
            // operation fails with this error.
            CompleteError(decoration, Describe(e));
            return;
        }

        if (pending is null)
        {
            Complete(decoration, values);
        }
        else
        {
            _ = CompleteLaterAsync(decoration, values, pending);
        }
    }

    private async Task CompleteLaterAsync(nint decoration, string[] values, ValueTask<string>[] pending)
    {
        try
        {
            for (var i = 0; i < pending.Length; i++)
            {
                if (values[i] is null)
                {
                    values[i] = await pending[i].ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            CompleteError(decoration, Describe(e));
            return;
        }
        Complete(decoration, values);
    }

    private static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message}";

    private unsafe void Complete(nint decoration, string[] values)
    {
        byte[] json;
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is null)
                {
                    var option = i < _headerCount ? "DynamicHeaders" : "DynamicQueryParameters";
                    CompleteError(decoration, $"the {option} provider for \"{_providers[i].Key}\" returned null");
                    return;
                }
                if (values[i].Contains('\0', StringComparison.Ordinal))
                {
                    // Never truncated (the value would end at the NUL) and never quoted (it may be a secret).
                    var option = i < _headerCount ? "DynamicHeaders" : "DynamicQueryParameters";
                    CompleteError(decoration, $"the {option} provider for \"{_providers[i].Key}\" returned a value containing a NUL character ('\\0'); the request was not sent");
                    return;
                }
            }
            json = OptionsJson.Build(this, (writer, self) =>
            {
                writer.WriteStartObject("headers");
                for (var i = 0; i < self._headerCount; i++)
                {
                    writer.WriteString(self._providers[i].Key, values[i]);
                }
                writer.WriteEndObject();
                writer.WriteStartObject("query");
                for (var i = self._headerCount; i < self._providers.Length; i++)
                {
                    writer.WriteString(self._providers[i].Key, values[i]);
                }
                writer.WriteEndObject();
            });
        }
        catch (Exception e)
        {
            CompleteError(decoration, Describe(e));
            return;
        }
        fixed (byte* p = json)
        {
            NativeMethods.ds_decoration_complete((DsDecoration*)decoration, p, null);
        }
    }

    private static unsafe void CompleteError(nint decoration, string message)
    {
        try
        {
            // A provider's exception text may hold a NUL: escape it rather than fail the completion.
            var bytes = NativeString.ToUtf8Z(message.Replace("\0", "\\0", StringComparison.Ordinal), nameof(message));
            fixed (byte* p = bytes)
            {
                NativeMethods.ds_decoration_complete((DsDecoration*)decoration, null, p);
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    /// <summary>Whether any provider is configured (no decorate callback is installed otherwise).</summary>
    internal bool IsEmpty => _providers.Length == 0;

}
