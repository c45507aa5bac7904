using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

// Opaque native objects. Only ever used through pointers.
#pragma warning disable CA1815 // opaque marker and plain C structs are never compared
internal struct S2NativeClient { }
internal struct S2NativeStream { }
internal struct S2NativeAppendSession { }
internal struct S2NativeProducer { }
internal struct S2NativeReadSession { }
internal struct S2NativeReadBatch { }
internal struct S2NativeCancel { }
internal struct S2NativeError { }

/// <summary><c>S2Header</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct S2HeaderNative
{
    public byte* Name;
    public nuint NameLen;
    public byte* Value;
    public nuint ValueLen;
}

/// <summary><c>S2NewRecord</c>: read before the submitting call returns.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct S2NewRecordNative
{
    public byte* Body;
    public nuint BodyLen;
    public S2HeaderNative* Headers;
    public nuint HeaderCount;
    public byte HasTimestamp; // C bool
    public ulong Timestamp;
}

/// <summary><c>S2AppendConditions</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct S2AppendConditionsNative
{
    public byte HasMatchSeqNum; // C bool
    public ulong MatchSeqNum;
    public byte* FencingToken; // NULL: no check
}

/// <summary><c>S2Position</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct S2PositionNative
{
    public ulong SeqNum;
    public ulong Timestamp;
}

/// <summary><c>S2AppendAck</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct S2AppendAckNative
{
    public S2PositionNative Start;
    public S2PositionNative End;
    public S2PositionNative Tail;
}

/// <summary><c>S2Record</c>: a view into its batch.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct S2RecordNative
{
    public ulong SeqNum;
    public ulong Timestamp;
    public byte* Body;
    public nuint BodyLen;
    public S2HeaderNative* Headers;
    public nuint HeaderCount;
    public byte IsCommand; // C bool
}

/// <summary><c>S2ReadArgs</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct S2ReadArgsNative
{
    public int StartKind;
    public ulong Start;
    public byte ClampToTail; // C bool
    public ulong Count;
    public ulong Bytes;
    public byte HasUntil; // C bool
    public ulong UntilTimestamp;
    public int WaitSecs;
    public byte IgnoreCommandRecords; // C bool
}
#pragma warning restore CA1815

/// <summary>
/// The C ABI of <c>libs2_streamstore</c> (<c>include/s2.h</c>): one blittable declaration per
/// function this package uses. Opaque handles are typed pointers, C strings NUL-terminated UTF-8
/// <c>byte*</c>, C <c>bool</c> is <c>byte</c> (or <see cref="bool"/> for returns marshalled as
/// one byte), callbacks unmanaged cdecl function pointers. <c>InteropDriftTests</c> compares the
/// names with the header.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The library name; resolves to <c>libs2_streamstore.so</c> on Linux.</summary>
    internal const string Library = "s2_streamstore";

    /// <summary>The ABI version this assembly was written against (<c>S2_ABI_VERSION</c>).</summary>
    internal const uint ExpectedAbiVersion = 1;

    [LibraryImport(Library)]
    internal static partial uint s2_abi_version();

    [LibraryImport(Library)]
    internal static partial byte* s2_version();

    [LibraryImport(Library)]
    internal static partial ulong s2_test_live_handles();

    // ------------------------------------------------------------------ errors

    [LibraryImport(Library)]
    internal static partial int s2_error_kind(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_kind_name(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_message(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_server_message(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial ushort s2_error_status(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_code(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_basin(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_stream(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial long s2_error_expected_seq_num(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial byte* s2_error_expected_fencing_token(S2NativeError* error);

    [LibraryImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool s2_error_tail(S2NativeError* error, S2PositionNative* output);

    [LibraryImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool s2_error_is_retryable(S2NativeError* error);

    [LibraryImport(Library)]
    internal static partial void s2_error_free(S2NativeError* error);

    // ------------------------------------------------------------------ cancellation

    [LibraryImport(Library)]
    internal static partial S2NativeCancel* s2_cancel_new();

    [LibraryImport(Library)]
    internal static partial void s2_cancel_cancel(S2NativeCancel* cancel);

    [LibraryImport(Library)]
    internal static partial void s2_cancel_free(S2NativeCancel* cancel);

    // ------------------------------------------------------------------ client and control plane

    [LibraryImport(Library)]
    internal static partial S2NativeError* s2_client_new(byte* optionsJson, S2NativeClient** output);

    [LibraryImport(Library)]
    internal static partial void s2_client_free(S2NativeClient* client);

    [LibraryImport(Library)]
    internal static partial void s2_basins_list(S2NativeClient* client, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_create(S2NativeClient* client, byte* basin, byte* configJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_ensure(S2NativeClient* client, byte* basin, byte* configJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_get_config(S2NativeClient* client, byte* basin, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_reconfigure(S2NativeClient* client, byte* basin, byte* changeJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_delete(S2NativeClient* client, byte* basin, [MarshalAs(UnmanagedType.U1)] bool ignoreNotFound, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_streams_list(S2NativeClient* client, byte* basin, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_create(S2NativeClient* client, byte* basin, byte* stream, byte* configJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_ensure(S2NativeClient* client, byte* basin, byte* stream, byte* configJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_get_config(S2NativeClient* client, byte* basin, byte* stream, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_reconfigure(S2NativeClient* client, byte* basin, byte* stream, byte* changeJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_delete(S2NativeClient* client, byte* basin, byte* stream, [MarshalAs(UnmanagedType.U1)] bool ignoreNotFound, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_access_token_issue(S2NativeClient* client, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_access_tokens_list(S2NativeClient* client, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_access_token_revoke(S2NativeClient* client, byte* id, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    // ------------------------------------------------------------------ metrics and locations

    [LibraryImport(Library)]
    internal static partial void s2_account_metrics(S2NativeClient* client, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_basin_metrics(S2NativeClient* client, byte* basin, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_metrics(S2NativeClient* client, byte* basin, byte* stream, byte* requestJson, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_locations_list(S2NativeClient* client, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_location_get_default(S2NativeClient* client, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_location_set_default(S2NativeClient* client, byte* location, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> callback, void* userData);

    // ------------------------------------------------------------------ stream data plane

    [LibraryImport(Library)]
    internal static partial S2NativeError* s2_stream_open(S2NativeClient* client, byte* basin, byte* stream, S2NativeStream** output);

    [LibraryImport(Library)]
    internal static partial void s2_stream_free(S2NativeStream* stream);

    [LibraryImport(Library)]
    internal static partial void s2_stream_check_tail(S2NativeStream* stream, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2PositionNative*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_append(S2NativeStream* stream, S2NewRecordNative* records, nuint count, S2AppendConditionsNative* conditions, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_fence(S2NativeStream* stream, byte* fencingToken, S2AppendConditionsNative* conditions, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_trim(S2NativeStream* stream, ulong trimPoint, S2AppendConditionsNative* conditions, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_stream_read(S2NativeStream* stream, S2ReadArgsNative* args, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2NativeReadBatch*, S2NativeError*, void> callback, void* userData);

    // ------------------------------------------------------------------ read batches

    [LibraryImport(Library)]
    internal static partial S2RecordNative* s2_batch_records(S2NativeReadBatch* batch, nuint* count);

    [LibraryImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool s2_batch_tail(S2NativeReadBatch* batch, S2PositionNative* output);

    [LibraryImport(Library)]
    internal static partial void s2_batch_free(S2NativeReadBatch* batch);

    // ------------------------------------------------------------------ append sessions

    [LibraryImport(Library)]
    internal static partial S2NativeError* s2_append_session_open(S2NativeStream* stream, byte* optionsJson, S2NativeAppendSession** output);

    [LibraryImport(Library)]
    internal static partial void s2_append_session_submit(S2NativeAppendSession* session, S2NewRecordNative* records, nuint count, S2AppendConditionsNative* conditions, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> accepted, delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> ack, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_append_session_close(S2NativeAppendSession* session, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> done, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_append_session_free(S2NativeAppendSession* session);

    // ------------------------------------------------------------------ producers

    [LibraryImport(Library)]
    internal static partial S2NativeError* s2_producer_open(S2NativeStream* stream, byte* optionsJson, S2NativeProducer** output);

    [LibraryImport(Library)]
    internal static partial int s2_producer_try_submit(S2NativeProducer* producer, S2NewRecordNative* record, delegate* unmanaged[Cdecl]<void*, ulong, S2AppendAckNative*, S2NativeError*, void> ack, void* userData, S2NativeError** errorOut);

    [LibraryImport(Library)]
    internal static partial void s2_producer_submit(S2NativeProducer* producer, S2NewRecordNative* record, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> accepted, delegate* unmanaged[Cdecl]<void*, ulong, S2AppendAckNative*, S2NativeError*, void> ack, void* userData);

    [LibraryImport(Library)]
    internal static partial int s2_producer_try_submit_counted(S2NativeProducer* producer, S2NewRecordNative* record, delegate* unmanaged[Cdecl]<void*, ulong, ulong, S2NativeError*, void> ack, void* userData, S2NativeError** errorOut);

    [LibraryImport(Library)]
    internal static partial void s2_producer_submit_counted(S2NativeProducer* producer, S2NewRecordNative* record, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> accepted, delegate* unmanaged[Cdecl]<void*, ulong, ulong, S2NativeError*, void> ack, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_producer_flush(S2NativeProducer* producer, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> done, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_producer_close(S2NativeProducer* producer, delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> done, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_producer_free(S2NativeProducer* producer);

    // ------------------------------------------------------------------ read sessions

    [LibraryImport(Library)]
    internal static partial void s2_read_session_open(S2NativeStream* stream, S2ReadArgsNative* args, [MarshalAs(UnmanagedType.U1)] bool retryForever, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2NativeReadSession*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    internal static partial void s2_read_session_next(S2NativeReadSession* session, S2NativeCancel* cancel, delegate* unmanaged[Cdecl]<void*, S2NativeReadBatch*, S2NativeError*, void> callback, void* userData);

    [LibraryImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool s2_read_session_is_caught_up(S2NativeReadSession* session);

    [LibraryImport(Library)]
    internal static partial long s2_read_session_next_seq_num(S2NativeReadSession* session);

    [LibraryImport(Library)]
    internal static partial void s2_read_session_free(S2NativeReadSession* session);
}

/// <summary>C strings.</summary>
internal static unsafe class NativeString
{
    /// <summary>Copies a borrowed string; <c>null</c> for a NULL pointer.</summary>
    internal static string? Read(byte* ptr) => ptr == null ? null : Marshal.PtrToStringUTF8((nint)ptr);

    /// <summary>NUL-terminated UTF-8 bytes of <paramref name="value"/> (null for null).</summary>
    internal static byte[]? Utf8Z(string? value, string paramName)
    {
        if (value is null)
        {
            return null;
        }
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The value contains a NUL character, which a C string cannot carry.", paramName);
        }
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(value) + 1];
        System.Text.Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
