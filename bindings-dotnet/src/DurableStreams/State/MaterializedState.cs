using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// The entities a stream of State Protocol messages describes, by type then key, built by applying
/// the messages in stream order with the rules of <c>@durable-streams/state</c> 0.3.1, plus the
/// exact position it has applied up to, so that it can be saved and resumed.
/// </summary>
/// <remarks>
/// <para>
/// The rules: <c>insert</c>, <c>update</c> and <c>upsert</c> store the event's <c>value</c> at
/// <c>type</c>/<c>key</c> (an insert over an existing key, or an update of a missing one, simply
/// stores it); <c>delete</c> removes the key (a missing key is no change); <c>reset</c> clears
/// every collection; <c>snapshot-start</c> and <c>snapshot-end</c> change no entity and only mark
/// the snapshot (<see cref="InSnapshot"/>).
/// </para>
/// <para>
/// Register a typed collection per entity type before applying (<see cref="Collection{T}(string, JsonTypeInfo{T})"/>):
/// each value is deserialized once, straight from the message's UTF-8 JSON, when its change is
/// applied. Types without a registered collection are kept as <see cref="JsonElement"/>
/// collections, so the state is always complete.
/// </para>
/// <para>
/// <see cref="Checkpoint"/> is where reading resumes, exact to the message. Resume by replaying
/// from a checkpoint into a state restored with <see cref="Restore(ReadOnlySpan{byte})"/> (saved
/// with <see cref="Save()"/>: entities and checkpoint together), or rebuild from the beginning.
/// A malformed message stops the apply with a <see cref="MalformedStateEventException"/> naming
/// the field, the stream and the message's position; everything before it stays applied and the
/// checkpoint is just before it.
/// </para>
/// <para>Not thread-safe: apply and read from one thread at a time (or guard both with one lock).</para>
/// </remarks>
public sealed partial class MaterializedState
{
    private readonly Dictionary<string, StateCollection> _collections = new(StringComparer.Ordinal);
    private StatePositionTracker _position;
    private bool _started;

    // The collection of the previous change and its type name in UTF-8: consecutive changes are
    // usually of one type, found then without decoding the type name.
    private StateCollection? _lastCollection;
    private byte[]? _lastTypeUtf8;

    /// <summary>An empty state that reads the stream from <paramref name="from"/> (the beginning by default).</summary>
    /// <param name="from">Where applying starts: the beginning, or the checkpoint saved with entities restored by <see cref="Restore(ReadOnlySpan{byte})"/>.</param>
    public MaterializedState(StateCheckpoint from = default)
    {
        _position = new StatePositionTracker(from.Position.Offset.HasValue ? from : StateCheckpoint.Beginning);
    }

    /// <summary>
    /// Raised after each change is applied, on the thread applying it, after the collection's own
    /// <see cref="StateCollection{T}.Changed"/>. The arguments are the collection's
    /// <see cref="StateChange{T}"/> (cast to read the values). An exception thrown by a handler
    /// propagates out of the apply call; the change stays applied and <see cref="Checkpoint"/> is after it.
    /// </summary>
    public event EventHandler<StateChangedEventArgs>? Changed;

    /// <summary>Raised after each control message is applied (a <see cref="ControlKind.Reset"/> has then cleared every collection).</summary>
    public event EventHandler<ControlAppliedEventArgs>? ControlApplied;

    /// <summary>The position after everything applied: where reading resumes.</summary>
    public StateCheckpoint Checkpoint => _position.Current;

    /// <summary>Whether a <c>snapshot-start</c> has been applied and its <c>snapshot-end</c> not yet.</summary>
    public bool InSnapshot { get; private set; }

    /// <summary>The collections, registered or met in the stream (possibly empty ones), in no particular order.</summary>
    public IReadOnlyCollection<StateCollection> Collections => _collections.Values;

    /// <summary>How many entities there are, over all collections.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var collection in _collections.Values)
            {
                count += collection.Count;
            }
            return count;
        }
    }

    /// <summary>The collection of <paramref name="entityType"/>, deserializing values with source-generated metadata (trimming/AOT-safe). Register it before applying.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type (<c>type</c> of the change events).</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <returns>The collection (the same one on a second call with the same type).</returns>
    /// <exception cref="ArgumentException"><paramref name="entityType"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The type already has a collection of another value type (registered, or met in the stream before it was registered).</exception>
    public StateCollection<T> Collection<T>(string entityType, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentException.ThrowIfNullOrEmpty(entityType);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        if (_collections.TryGetValue(entityType, out var existing))
        {
            return existing as StateCollection<T> ?? throw new InvalidOperationException(
                $"The entity type \"{entityType}\" already has a collection of {existing.ValueType.Name}{(existing.ValueType == typeof(JsonElement) ? " (it was met in the stream before a collection was registered: register collections before applying)" : string.Empty)}; it cannot also be one of {typeof(T).Name}.");
        }
        var collection = new StateCollection<T>(entityType, jsonTypeInfo);
        _collections.Add(entityType, collection);
        return collection;
    }

    /// <summary>The collection of <paramref name="entityType"/>, deserializing values with <paramref name="options"/> (reflection).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="options">Serializer options; null for the defaults.</param>
    /// <returns>The collection.</returns>
    /// <exception cref="InvalidOperationException">The type already has a collection of another value type.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public StateCollection<T> Collection<T>(string entityType, JsonSerializerOptions? options = null) =>
        Collection(entityType, StateEvents.ReflectionTypeInfo<T>(options));

    /// <summary>The collection of <paramref name="entityType"/>, when there is one.</summary>
    /// <param name="entityType">The entity type.</param>
    /// <param name="collection">The collection, when found.</param>
    /// <returns>Whether the type has a collection.</returns>
    public bool TryGetCollection(string entityType, [NotNullWhen(true)] out StateCollection? collection) =>
        _collections.TryGetValue(entityType, out collection);

    /// <summary>
    /// Applies every message of a chunk read from <see cref="Checkpoint"/> (for example from
    /// <see cref="StreamResponse.ReadBytesAsync"/> of a read started at <see cref="Checkpoint"/>),
    /// in order, and moves <see cref="Checkpoint"/> past it. Messages the checkpoint counts as
    /// already applied are skipped.
    /// </summary>
    /// <param name="chunk">The chunk (of an <c>application/json</c> stream).</param>
    /// <param name="streamUrl">The stream, named in errors.</param>
    /// <returns>How many messages were applied.</returns>
    /// <exception cref="MalformedStateEventException">A message is malformed; the ones before it are applied and <see cref="Checkpoint"/> is just before it.</exception>
    /// <exception cref="InvalidOperationException">The chunk is not from a JSON stream.</exception>
    public int Apply(ByteChunk chunk, string? streamUrl = null)
    {
        _started = true;
        var url = streamUrl ?? "the stream";
        var first = _position.BeginChunk(chunk, url, out var messages);
        for (var index = first; index < messages.Count; index++)
        {
            var json = messages[index].Span;
            StateMessage message;
            try
            {
                message = StateMessage.Parse(json);
                ApplyParsed(json, message, index);
            }
            catch (StateFormatException e)
            {
                throw e.WithContext(streamUrl, _position.Before(index));
            }
        }
        _position.EndChunk(chunk, url);
        return messages.Count - first;
    }

    /// <summary>Applies one message given as JSON text, outside any stream: <see cref="Checkpoint"/> does not move.</summary>
    /// <param name="json">The message's UTF-8 JSON.</param>
    /// <exception cref="MalformedStateEventException">The message is malformed (nothing changed).</exception>
    public void ApplyMessage(ReadOnlySpan<byte> json)
    {
        _started = true;
        try
        {
            var message = StateMessage.Parse(json);
            ApplyParsed(json, message, index: -1);
        }
        catch (StateFormatException e)
        {
            throw e.WithContext(null, null);
        }
    }

    /// <summary>Reads <paramref name="stream"/> from <see cref="Checkpoint"/> to its current tail and applies everything.</summary>
    /// <param name="stream">The state stream (<c>application/json</c>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>How many messages were applied.</returns>
    /// <exception cref="MalformedStateEventException">A message is malformed (see <see cref="Apply"/>).</exception>
    public async Task<int> CatchUpAsync(DurableStream stream, CancellationToken cancellationToken = default)
    {
        var applied = 0;
        await foreach (var step in FollowAsync(stream, LiveMode.Off, cancellationToken).ConfigureAwait(false))
        {
            applied += step.Messages;
        }
        return applied;
    }

    /// <summary>
    /// Reads <paramref name="stream"/> from <see cref="Checkpoint"/> and applies each chunk as it
    /// arrives, yielding after each one (with <see cref="LiveMode.Off"/>, until the tail; in a live
    /// mode, until the stream is closed or the token cancels). Read the state, or save it, between
    /// steps; <see cref="StateApplied.UpToDate"/> tells when it has caught up.
    /// </summary>
    /// <param name="stream">The state stream (<c>application/json</c>).</param>
    /// <param name="live">What to do at the tail.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One step per chunk applied.</returns>
    /// <exception cref="MalformedStateEventException">A message is malformed (see <see cref="Apply"/>).</exception>
    public async IAsyncEnumerable<StateApplied> FollowAsync(DurableStream stream, LiveMode live = LiveMode.Auto, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var options = new StreamOptions { Checkpoint = _position.ReadFrom, Live = live };
        var response = await stream.StreamAsync(options, cancellationToken).ConfigureAwait(false);
        await using (response.ConfigureAwait(false))
        {
            await foreach (var chunk in response.ReadBytesAsync(cancellationToken).ConfigureAwait(false))
            {
                var applied = Apply(chunk, stream.SafeUrl);
                yield return new StateApplied(applied, Checkpoint, chunk.UpToDate, chunk.StreamClosed);
            }
        }
    }

    private void ApplyParsed(ReadOnlySpan<byte> json, in StateMessage message, int index)
    {
        if (message.IsControl)
        {
            switch (message.Control)
            {
                case ControlKind.SnapshotStart:
                    InSnapshot = true;
                    break;
                case ControlKind.SnapshotEnd:
                    InSnapshot = false;
                    break;
                default:
                    foreach (var collection in _collections.Values)
                    {
                        collection.Clear();
                    }
                    InSnapshot = false;
                    break;
            }
            var after = Done(index);
            ControlApplied?.Invoke(this, new ControlAppliedEventArgs(message.ReadControl(json), after));
            return;
        }
        var target = CollectionOf(json, message.Type);
        var notify = Changed is not null || target.HasChangeHandlers;
        var headers = notify ? message.ReadHeaders(json) : null;
        // The position after this message, known before applying it, for the notification.
        var checkpointAfter = notify ? After(index) : default;
        var change = message.Operation == StateOperation.Delete
            ? target.Remove(json, message.Key, headers, checkpointAfter)
            : target.Store(json, message.Key, message.Value, headers, checkpointAfter);
        Done(index);
        if (change is not null)
        {
            target.Raise(change);
            Changed?.Invoke(this, change);
        }
    }

    private StateCheckpoint After(int index) => index < 0 ? Checkpoint : _position.Peek(index);

    private StateCheckpoint Done(int index) => index < 0 ? Checkpoint : _position.Handled(index);

    private StateCollection CollectionOf(ReadOnlySpan<byte> json, JsonSlice type)
    {
        if (_lastCollection is not null && type.StringEquals(json, _lastTypeUtf8))
        {
            return _lastCollection;
        }
        var name = type.GetString(json);
        if (!_collections.TryGetValue(name, out var collection))
        {
            collection = new StateCollection<JsonElement>(name, StateJsonContext.Default.JsonElement);
            _collections.Add(name, collection);
        }
        _lastCollection = collection;
        _lastTypeUtf8 = Encoding.UTF8.GetBytes(name);
        return collection;
    }

    /// <summary>The state's size and position: <c>MaterializedState { Collections = 2, Count = 10, Checkpoint = ..., InSnapshot = False }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"MaterializedState {{ Collections = {_collections.Count}, Count = {Count}, Checkpoint = {Checkpoint}, InSnapshot = {InSnapshot} }}";
}
