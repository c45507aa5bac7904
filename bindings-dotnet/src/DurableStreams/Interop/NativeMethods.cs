using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

// Opaque native objects. Only ever used through pointers.
#pragma warning disable CA1815 // opaque marker structs are never compared
internal struct DsClient { }
internal struct DsStream { }
internal struct DsReader { }
internal struct DsChunk { }
internal struct DsProducer { }
internal struct DsError { }
internal struct DsCancel { }
internal struct DsDecoration { }

/// <summary><c>DsRequestInfo</c>: borrowed for the duration of the decorate callback.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsRequestInfo
{
    public byte* Operation;
    public byte* Method;
    public byte* Url;
}

/// <summary><c>DsEventField</c>: borrowed for the duration of the event callback.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsEventField
{
    public byte* Key;
    public byte* Value;
}

/// <summary><c>DsCreateResult</c>: borrowed for the duration of the create callback.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsCreateResult
{
    public byte Created; // C bool
    public byte* NextOffset;
    public byte* ContentType;
    public byte Closed; // C bool
}

/// <summary><c>DsStreamInfo</c>: borrowed for the duration of the head callback.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsStreamInfo
{
    public byte* NextOffset;
    public byte* ContentType;
    public byte Closed; // C bool
    public long TtlSeconds; // -1: none
    public byte* ExpiresAt;
    public byte* ETag; // NULL: none
    public byte* CacheControl; // NULL: none
}

/// <summary><c>DsAppendArgs</c>: the per-call arguments of <c>ds_stream_append</c>, read before it returns.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsAppendArgs
{
    public byte* Seq; // NULL: none
    public byte* ContentType; // NULL: the stream's
    public byte Close; // C bool
    public DsHeader* Headers; // NULL when HeaderCount is 0
    public nuint HeaderCount;
}

/// <summary><c>DsAppendResult</c>: borrowed for the duration of the append/close callback.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsAppendResult
{
    public byte* NextOffset;
    public byte Closed; // C bool
}
#pragma warning restore CA1815

/// <summary>
/// The C ABI of <c>libdurable_streams</c> (<c>include/durable_streams.h</c>), one declaration per
/// exported function, in header order. Blittable signatures only: opaque handles are typed
/// pointers, C strings are NUL-terminated UTF-8 <c>byte*</c>, C <c>bool</c> is <c>byte</c>,
/// callbacks are unmanaged cdecl function pointers. <c>InteropDriftTests</c> compares this class
/// with the header.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The library name; resolves to <c>libdurable_streams.so</c> on Linux.</summary>
    internal const string Library = "durable_streams";

    /// <summary>The ABI version this assembly was written against (<c>ds_abi_version()</c>).</summary>
    internal const uint ExpectedAbiVersion = 3;

    // ------------------------------------------------------------------ library

    [LibraryImport(Library)]
    internal static partial uint ds_abi_version();

    [LibraryImport(Library)]
    internal static partial byte* ds_version();

    [LibraryImport(Library)]
    internal static partial void ds_string_free(byte* str);

    /// <summary>Test hook: live native objects in the process (leak tests).</summary>
    [LibraryImport(Library)]
    internal static partial ulong ds_test_live_handles();

    // ------------------------------------------------------------------ errors

    /// <summary>Declared for completeness; errors are mapped by <see cref="ds_error_code"/> (<see cref="NativeErrors"/>).</summary>
    [LibraryImport(Library)]
    internal static partial int ds_error_kind(DsError* error);

    [LibraryImport(Library)]
    internal static partial ushort ds_error_status(DsError* error);

    [LibraryImport(Library)]
    internal static partial byte* ds_error_message(DsError* error);

    [LibraryImport(Library)]
    internal static partial byte* ds_error_server_message(DsError* error);

    [LibraryImport(Library)]
    internal static partial byte* ds_error_url(DsError* error);

    [LibraryImport(Library)]
    internal static partial byte* ds_error_code(DsError* error);

    [LibraryImport(Library)]
    internal static partial long ds_error_current_epoch(DsError* error);

    [LibraryImport(Library)]
    internal static partial long ds_error_expected_seq(DsError* error);

    [LibraryImport(Library)]
    internal static partial long ds_error_received_seq(DsError* error);

    [LibraryImport(Library)]
    internal static partial void ds_error_free(DsError* error);

    // ------------------------------------------------------------------ cancellation

    [LibraryImport(Library)]
    internal static partial DsCancel* ds_cancel_new();

    [LibraryImport(Library)]
    internal static partial void ds_cancel_cancel(DsCancel* cancel);

    [LibraryImport(Library)]
    internal static partial byte ds_cancel_is_cancelled(DsCancel* cancel);

    [LibraryImport(Library)]
    internal static partial void ds_cancel_free(DsCancel* cancel);

    // ------------------------------------------------------------------ client

    [LibraryImport(Library)]
    internal static partial DsError* ds_client_new(
        byte* optionsJson,
        delegate* unmanaged[Cdecl]<void*, DsRequestInfo*, DsDecoration*, void> decorate,
        void* decorateUserData,
        delegate* unmanaged[Cdecl]<void*, void> freeUserData,
        DsClient** outClient);

    [LibraryImport(Library)]
    internal static partial DsError* ds_client_set_event_callback(
        DsClient* client,
        int minLevel,
        delegate* unmanaged[Cdecl]<void*, int, byte*, byte*, byte*, DsEventField*, nuint, void> callback,
        void* userData,
        delegate* unmanaged[Cdecl]<void*, void> freeUserData);

    [LibraryImport(Library)]
    internal static partial void ds_decoration_complete(DsDecoration* decoration, byte* decorationsJson, byte* errorMessage);

    [LibraryImport(Library)]
    internal static partial void ds_client_free(DsClient* client);

    // ------------------------------------------------------------------ stream

    [LibraryImport(Library)]
    internal static partial DsError* ds_stream_new(DsClient* client, byte* url, DsStream** outStream);

    [LibraryImport(Library)]
    internal static partial void ds_stream_free(DsStream* stream);

    [LibraryImport(Library)]
    internal static partial byte* ds_stream_url(DsStream* stream);

    [LibraryImport(Library)]
    internal static partial byte* ds_stream_content_type(DsStream* stream);

    [LibraryImport(Library)]
    internal static partial DsError* ds_stream_set_content_type(DsStream* stream, byte* contentType);

    [LibraryImport(Library)]
    internal static partial void ds_stream_create(
        DsStream* stream,
        byte* optionsJson,
        byte* body,
        nuint bodyLen,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsCreateResult*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_stream_head(
        DsStream* stream,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsStreamInfo*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_stream_delete(
        DsStream* stream,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_stream_append(
        DsStream* stream,
        byte* data,
        nuint len,
        DsAppendArgs* args,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsAppendResult*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_stream_close(
        DsStream* stream,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsAppendResult*, void> callback,
        void* userData);

    // ------------------------------------------------------------------ reads

    [LibraryImport(Library)]
    internal static partial DsError* ds_reader_open(DsStream* stream, byte* offset, int liveMode, byte* cursor, DsReader** outReader);

    [LibraryImport(Library)]
    internal static partial DsError* ds_reader_set_max_chunk_bytes(DsReader* reader, nuint maxChunkBytes);

    [LibraryImport(Library)]
    internal static partial DsError* ds_reader_set_headers(DsReader* reader, DsHeader* headers, nuint count);

    [LibraryImport(Library)]
    internal static partial DsError* ds_reader_set_skip_bytes(DsReader* reader, ulong skip);

    [LibraryImport(Library)]
    internal static partial ulong ds_reader_resume_skip(DsReader* reader);

    [LibraryImport(Library)]
    internal static partial DsError* ds_reader_set_skip_messages(DsReader* reader, ulong skip);

    [LibraryImport(Library)]
    internal static partial ulong ds_reader_resume_skip_messages(DsReader* reader);

    [LibraryImport(Library)]
    internal static partial void ds_reader_next(
        DsReader* reader,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsChunk*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial byte* ds_reader_offset(DsReader* reader);

    [LibraryImport(Library)]
    internal static partial byte* ds_reader_cursor(DsReader* reader);

    [LibraryImport(Library)]
    internal static partial void ds_reader_free(DsReader* reader);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte* ds_chunk_data(DsChunk* chunk, nuint* len);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte* ds_chunk_offset(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte* ds_chunk_cursor(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte ds_chunk_up_to_date(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte ds_chunk_closed(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte ds_chunk_partial(DsChunk* chunk);

    [LibraryImport(Library)]
    internal static partial ulong ds_chunk_resume_skip(DsChunk* chunk);

    [LibraryImport(Library)]
    internal static partial ulong ds_chunk_resume_skip_messages(DsChunk* chunk);

    [LibraryImport(Library)]
    internal static partial long ds_chunk_message_bounds(DsChunk* chunk, ulong* bounds, nuint capacity);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial ushort ds_chunk_status(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial long ds_chunk_message_count(DsChunk* chunk);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial byte* ds_chunk_message(DsChunk* chunk, nuint index, nuint* len);

    [LibraryImport(Library)]
    internal static partial void ds_chunk_free(DsChunk* chunk);

    // ------------------------------------------------------------------ producer

    [LibraryImport(Library)]
    internal static partial DsError* ds_producer_new(
        DsStream* stream,
        byte* producerId,
        byte* optionsJson,
        delegate* unmanaged[Cdecl]<void*, DsError*, ulong, long, long, ulong, void> onError,
        void* userData,
        delegate* unmanaged[Cdecl]<void*, void> freeUserData,
        DsProducer** outProducer);

    [LibraryImport(Library)]
    internal static partial int ds_producer_try_append(DsProducer* producer, byte* data, nuint len, DsError** errorOut);

    [LibraryImport(Library)]
    internal static partial void ds_producer_append(
        DsProducer* producer,
        byte* data,
        nuint len,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_producer_flush(
        DsProducer* producer,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_producer_close(
        DsProducer* producer,
        byte* finalData,
        nuint finalLen,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_producer_detach(
        DsProducer* producer,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_producer_restart(
        DsProducer* producer,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, ulong, void> callback,
        void* userData);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial ulong ds_producer_epoch(DsProducer* producer);

    [LibraryImport(Library)]
    [SuppressGCTransition] // trivial: reads the object, no lock, no callback, no blocking
    internal static partial ulong ds_producer_next_seq(DsProducer* producer);

    [LibraryImport(Library)]
    internal static partial ulong ds_producer_pending_count(DsProducer* producer);

    [LibraryImport(Library)]
    internal static partial ulong ds_producer_in_flight_count(DsProducer* producer);

    [LibraryImport(Library)]
    internal static partial byte* ds_producer_last_acked_offset(DsProducer* producer);

    [LibraryImport(Library)]
    internal static partial void ds_producer_free(DsProducer* producer);
}

/// <summary>Results of <c>ds_producer_try_append</c>.</summary>
internal static class TryAppendStatus
{
    internal const int Ok = 0;
    internal const int Full = 1;
    internal const int Error = 2;
}

/// <summary>Reads NUL-terminated UTF-8 strings lent or given by the native library.</summary>
internal static unsafe class NativeString
{
    /// <summary>Copies a borrowed string; <c>null</c> for a NULL pointer.</summary>
    internal static string? Read(byte* ptr) =>
        ptr == null ? null : Marshal.PtrToStringUTF8((nint)ptr);

    /// <summary>Copies and frees an owned string (<c>ds_string_free</c>).</summary>
    internal static string? TakeOwned(byte* ptr)
    {
        if (ptr == null)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8((nint)ptr);
        }
        finally
        {
            NativeMethods.ds_string_free(ptr);
        }
    }

    /// <summary>The most bytes <see cref="Utf8Z"/> needs for <paramref name="value"/> (0 for null).</summary>
    internal static int MaxUtf8ZLength(string? value) =>
        value is null ? 0 : System.Text.Encoding.UTF8.GetMaxByteCount(value.Length) + 1;

    /// <summary>
    /// Rejects a string that holds a NUL character: the C ABI takes NUL-terminated strings, so the
    /// native side would silently see only the part before it (two producer ids differing after a
    /// NUL would be the same producer). Every string passed as a C string or inside an options JSON
    /// document goes through here.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> contains '\0' (named <paramref name="paramName"/>).</exception>
    internal static void ThrowIfNul(string? value, string paramName)
    {
        if (value is not null && value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException(NulMessage(paramName, value), paramName);
        }
    }

    /// <summary>The message for a value of <paramref name="what"/> that holds a NUL character.</summary>
    internal static string NulMessage(string what, string value) =>
        $"{what} cannot contain a NUL character ('\\0', at index {value.IndexOf('\0', StringComparison.Ordinal)}): native strings end at the first NUL.";

    /// <summary>
    /// Writes <paramref name="value"/> NUL-terminated into <paramref name="buffer"/> (at least
    /// <see cref="MaxUtf8ZLength"/> bytes) and returns the written part; empty for null.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> contains '\0' (named <paramref name="paramName"/>).</exception>
    internal static Span<byte> Utf8Z(string? value, Span<byte> buffer, string paramName)
    {
        if (value is null)
        {
            return Span<byte>.Empty;
        }
        ThrowIfNul(value, paramName);
        var length = System.Text.Encoding.UTF8.GetBytes(value, buffer);
        buffer[length] = 0;
        return buffer[..(length + 1)];
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/>; <c>null</c> stays null.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> contains '\0' (named <paramref name="paramName"/>).</exception>
    [return: NotNullIfNotNull(nameof(value))]
    internal static byte[]? ToUtf8Z(string? value, string paramName)
    {
        if (value is null)
        {
            return null;
        }
        ThrowIfNul(value, paramName);
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(value) + 1];
        System.Text.Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
        return bytes;
    }
}
