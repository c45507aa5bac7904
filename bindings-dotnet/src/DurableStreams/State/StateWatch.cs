using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// A durable watch of the keys with a prefix (optionally of one entity type): every change to them,
/// in stream order, each once, resumable from a saved <see cref="StateCheckpoint"/> after a restart.
/// </summary>
/// <typeparam name="T">The value type changes are deserialized as (<see cref="JsonElement"/> for any JSON).</typeparam>
/// <remarks>
/// <para>
/// <b>The contract.</b> Handle each <see cref="WatchedChange{T}"/>, then persist its
/// <see cref="WatchedChange{T}.Checkpoint"/>; after a restart, open the watch with
/// <see cref="StateWatchOptions.From"/> set to the last persisted checkpoint. It then delivers
/// exactly the messages after it: nothing is missed (the stream is durable and immutable) and
/// nothing already checkpointed is delivered again. For no double effect, persist the checkpoint
/// in the same transaction as the effect (or make the effect idempotent): a crash after the
/// effect but before the checkpoint is stored delivers that one change again.
/// </para>
/// <para>
/// Control messages are delivered whatever the filter. Changes of other keys are skipped (their
/// values are not even deserialized) but move <see cref="Checkpoint"/>, which you may persist
/// too, to skip them faster on resume. A malformed message ends the read with a
/// <see cref="MalformedStateEventException"/> naming the field, the stream and the message's
/// position, without moving the checkpoint past it.
/// </para>
/// </remarks>
public sealed class StateWatch<T>
{
    private readonly DurableStream _stream;
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly string _keyPrefix;
    private readonly byte[] _keyPrefixUtf8;
    private readonly string? _entityType;
    private readonly byte[]? _entityTypeUtf8;
    private readonly LiveMode _live;
    private readonly StatePositionTracker _position;
    private int _reading;

    /// <summary>A watch of <paramref name="stream"/>, deserializing values with source-generated metadata (trimming/AOT-safe). Nothing is read until <see cref="ReadAsync"/>.</summary>
    /// <param name="stream">The state stream (<c>application/json</c>).</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <param name="options">The filter, the checkpoint to resume from and the live mode; null for every key from the beginning, catch-up only.</param>
    public StateWatch(DurableStream stream, JsonTypeInfo<T> jsonTypeInfo, StateWatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        options ??= new StateWatchOptions();
        _stream = stream;
        _typeInfo = jsonTypeInfo;
        _keyPrefix = options.KeyPrefix ?? string.Empty;
        _keyPrefixUtf8 = Encoding.UTF8.GetBytes(_keyPrefix);
        _entityType = options.EntityType;
        _entityTypeUtf8 = options.EntityType is null ? null : Encoding.UTF8.GetBytes(options.EntityType);
        _live = options.Live;
        _position = new StatePositionTracker(options.From.Position.Offset.HasValue ? options.From : StateCheckpoint.Beginning);
    }

    /// <summary>A watch of <paramref name="stream"/>, deserializing values with the client's serializer options (reflection).</summary>
    /// <param name="stream">The state stream.</param>
    /// <param name="options">The filter, the checkpoint to resume from and the live mode.</param>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public StateWatch(DurableStream stream, StateWatchOptions? options = null)
        : this(stream, StateEvents.ReflectionTypeInfo<T>(stream?.JsonSerializerOptions), options)
    {
    }

    /// <summary>The position after everything read so far: the last delivered message and the skipped changes of other keys after it.</summary>
    public StateCheckpoint Checkpoint => _position.Current;

    /// <summary>
    /// The watched messages from <see cref="Checkpoint"/> on, in stream order (with
    /// <see cref="LiveMode.Off"/> until the current tail; in a live mode until the stream is
    /// closed or the token cancels). One read at a time; a later read continues from <see cref="Checkpoint"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages, each with the checkpoint to persist once it is handled.</returns>
    /// <exception cref="InvalidOperationException">Another read of this watch is in progress.</exception>
    /// <exception cref="MalformedStateEventException">A message is malformed.</exception>
    public async IAsyncEnumerable<WatchedChange<T>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException("A StateWatch is read by one consumer at a time; this one is already being read.");
        }
        try
        {
            var url = _stream.SafeUrl;
            var options = new StreamOptions { Checkpoint = _position.ReadFrom, Live = _live };
            var response = await _stream.StreamAsync(options, cancellationToken).ConfigureAwait(false);
            await using (response.ConfigureAwait(false))
            {
                await foreach (var chunk in response.ReadBytesAsync(cancellationToken).ConfigureAwait(false))
                {
                    var first = _position.BeginChunk(chunk, url, out var messages);
                    for (var index = first; index < messages.Count; index++)
                    {
                        var delivered = Next(messages[index], index, url);
                        if (delivered is not null)
                        {
                            yield return delivered;
                        }
                    }
                    _position.EndChunk(chunk, url);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="handler"/> for each watched message, in order, one at a time, until
    /// the read ends (see <see cref="ReadAsync"/>). The handler persists
    /// <see cref="WatchedChange{T}.Checkpoint"/> with its effect (see the contract on the class);
    /// an exception from it ends the run, and the next run starts from <see cref="Checkpoint"/>,
    /// which is already past that message: resume from your persisted checkpoint to see it again.
    /// </summary>
    /// <param name="handler">Handles one message.</param>
    /// <param name="cancellationToken">Cancels the read and is passed to the handler.</param>
    /// <returns>A task that completes when the read ends.</returns>
    public async Task RunAsync(Func<WatchedChange<T>, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await foreach (var change in ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            await handler(change, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The message as a delivery when it is watched; null when it is a change of another key. Moves the position past it.</summary>
    private WatchedChange<T>? Next(ReadOnlyMemory<byte> memory, int index, string url)
    {
        var json = memory.Span;
        StateEvent<T>? delivered = null;
        try
        {
            var message = StateMessage.Parse(json);
            if (message.IsControl || Wanted(json, message))
            {
                delivered = StateEvents.Read(json, message, _typeInfo);
            }
        }
        catch (StateFormatException e)
        {
            throw e.WithContext(url, _position.Before(index));
        }
        var after = _position.Handled(index);
        return delivered is null ? null : new WatchedChange<T>(delivered, after);
    }

    private bool Wanted(ReadOnlySpan<byte> json, in StateMessage message)
    {
        if (_entityTypeUtf8 is not null && !message.Type.StringEquals(json, _entityTypeUtf8))
        {
            return false;
        }
        // UTF-8 preserves ordinal prefixes of well-formed text: the bytes are compared as they are.
        return _keyPrefix.Length == 0 || message.Key.StringStartsWith(json, _keyPrefix, _keyPrefixUtf8);
    }

    /// <summary>The watch's filter and position: <c>StateWatch&lt;T&gt; { Stream = ..., KeyPrefix = ..., EntityType = ..., Checkpoint = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"StateWatch<{typeof(T).Name}> {{ Stream = {_stream}, KeyPrefix = {_keyPrefix}, EntityType = {_entityType ?? "null"}, Checkpoint = {Checkpoint} }}";
}
