using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

#pragma warning disable CA1815 // opaque marker structs are never compared
internal struct DsMaterializedState { }
internal struct DsStateWatch { }
#pragma warning restore CA1815

/// <summary>
/// The State Protocol exports of the C ABI (<c>ds_state_*</c>); strings are NUL-terminated UTF-8.
/// Declared for completeness (InteropDriftTests checks them against the header): the .NET
/// package applies change events in managed code (DurableStreams.State), so that no event crosses
/// the boundary.
/// </summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial DsError* ds_state_new(DsMaterializedState** outState);

    [LibraryImport(Library)]
    internal static partial DsError* ds_state_restore(byte* snapshotJson, DsMaterializedState** outState);

    [LibraryImport(Library)]
    internal static partial void ds_state_free(DsMaterializedState* state);

    [LibraryImport(Library)]
    internal static partial DsError* ds_state_apply_chunk(DsMaterializedState* state, DsChunk* chunk, nuint* outApplied);

    [LibraryImport(Library)]
    internal static partial void ds_state_catch_up(
        DsMaterializedState* state,
        DsStream* stream,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_get(DsMaterializedState* state, byte* type, byte* key);

    [LibraryImport(Library)]
    internal static partial nuint ds_state_count(DsMaterializedState* state, byte* type);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_keys(DsMaterializedState* state, byte* type);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_types(DsMaterializedState* state);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_json(DsMaterializedState* state, byte* type);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_offset(DsMaterializedState* state);

    [LibraryImport(Library)]
    internal static partial byte ds_state_in_snapshot(DsMaterializedState* state);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_snapshot(DsMaterializedState* state);

    [LibraryImport(Library)]
    internal static partial DsError* ds_state_validate(byte* eventJson);

    [LibraryImport(Library)]
    internal static partial void ds_state_write(
        DsStream* stream,
        byte* eventJson,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_state_write_all(
        DsStream* stream,
        byte* eventsJson,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial DsError* ds_state_watch_open(
        DsStream* stream,
        byte* keyPrefix,
        byte* type,
        byte* checkpoint,
        int liveMode,
        DsStateWatch** outWatch);

    [LibraryImport(Library)]
    internal static partial void ds_state_watch_next(
        DsStateWatch* watch,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial byte* ds_state_watch_checkpoint(DsStateWatch* watch);

    [LibraryImport(Library)]
    internal static partial void ds_state_watch_free(DsStateWatch* watch);
}
