using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// The entities of one <c>type</c> in a <see cref="MaterializedState"/>, by key. The typed view is
/// <see cref="StateCollection{T}"/>; this base lets code handle every collection alike.
/// </summary>
public abstract class StateCollection
{
    private protected StateCollection(string entityType)
    {
        EntityType = entityType;
    }

    /// <summary>The entity type (<c>type</c> of the change events).</summary>
    public string EntityType { get; }

    /// <summary>The type values are deserialized as.</summary>
    public abstract Type ValueType { get; }

    /// <summary>How many entities there are.</summary>
    public abstract int Count { get; }

    /// <summary>The keys, in no particular order.</summary>
    public abstract IEnumerable<string> Keys { get; }

    /// <summary>Whether an entity has the key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether it exists.</returns>
    public abstract bool ContainsKey(string key);

    /// <summary>Whether someone listens to this collection's changes.</summary>
    internal abstract bool HasChangeHandlers { get; }

    /// <summary>Stores the value at <paramref name="valueSlice"/> of <paramref name="json"/> under the key at <paramref name="keySlice"/>; returns the change when <paramref name="headers"/> are given (someone listens).</summary>
    /// <exception cref="StateFormatException">The value does not deserialize (nothing changed).</exception>
    internal abstract StateChangedEventArgs? Store(ReadOnlySpan<byte> json, JsonSlice keySlice, JsonSlice valueSlice, ChangeHeaders? headers, StateCheckpoint after);

    /// <summary>Removes the key at <paramref name="keySlice"/>; returns the change when <paramref name="headers"/> are given.</summary>
    internal abstract StateChangedEventArgs? Remove(ReadOnlySpan<byte> json, JsonSlice keySlice, ChangeHeaders? headers, StateCheckpoint after);

    /// <summary>Raises the collection's own event for a change it returned.</summary>
    internal abstract void Raise(StateChangedEventArgs change);

    internal abstract void Clear();

    /// <summary>Writes <c>{key: value, ...}</c>.</summary>
    internal abstract void WriteEntities(Utf8JsonWriter writer);

    /// <summary>Loads one saved entity.</summary>
    /// <exception cref="StateFormatException">The value does not deserialize.</exception>
    internal abstract void Load(string key, ReadOnlySpan<byte> json, JsonSlice valueSlice);

    /// <summary>The collection's type and size: <c>StateCollection&lt;User&gt; { EntityType = user, Count = 3 }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"StateCollection<{ValueType.Name}> {{ EntityType = {EntityType}, Count = {Count} }}";
}

/// <summary>
/// The entities of one <c>type</c>, deserialized as <typeparamref name="T"/> once when their change
/// is applied: read them like a read-only dictionary (<see cref="Get"/>, <see cref="TryGet"/>,
/// enumeration, <see cref="Count"/>), and follow them with <see cref="Changed"/>.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// Not thread-safe, like the <see cref="MaterializedState"/> it belongs to: read it between
/// applies (or from the <see cref="Changed"/> handler), or guard both with one lock.
/// </remarks>
public sealed class StateCollection<T> : StateCollection, IReadOnlyDictionary<string, T>
{
    /// <summary>Keys up to this many UTF-16 units are looked up without allocating a string first.</summary>
    private const int StackKeyChars = 256;

    private readonly Dictionary<string, T> _entities = new(StringComparer.Ordinal);
    private readonly JsonTypeInfo<T> _typeInfo;
#if NET9_0_OR_GREATER
    private readonly Dictionary<string, T>.AlternateLookup<ReadOnlySpan<char>> _byChars;
#endif

    internal StateCollection(string entityType, JsonTypeInfo<T> typeInfo)
        : base(entityType)
    {
        _typeInfo = typeInfo;
#if NET9_0_OR_GREATER
        _byChars = _entities.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
    }

    /// <summary>
    /// Raised after each change of this collection is applied (insert, update, upsert, delete), in
    /// stream order, on the thread applying it. A <see cref="ControlKind.Reset"/> clears the
    /// collection without raising it: see <see cref="MaterializedState.ControlApplied"/>. An
    /// exception thrown by a handler propagates out of the apply call (the change stays applied and
    /// the state's checkpoint is after it).
    /// </summary>
    public event EventHandler<StateChange<T>>? Changed;

    /// <inheritdoc/>
    public override Type ValueType => typeof(T);

    /// <inheritdoc cref="StateCollection.Count"/>
    public override int Count => _entities.Count;

    /// <inheritdoc cref="StateCollection.Keys"/>
    public override IEnumerable<string> Keys => _entities.Keys;

    /// <summary>The values, in no particular order.</summary>
    public IEnumerable<T> Values => _entities.Values;

    /// <summary>The value of the key.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="KeyNotFoundException">No entity has the key.</exception>
    public T this[string key] => _entities.TryGetValue(key, out var value)
        ? value
        : throw new KeyNotFoundException($"The collection \"{EntityType}\" has no entity with key \"{key}\".");

    /// <inheritdoc cref="StateCollection.ContainsKey"/>
    public override bool ContainsKey(string key) => _entities.ContainsKey(key);

    /// <summary>The value of the key, or <c>default</c> when no entity has it.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value or <c>default</c>.</returns>
    public T? Get(string key) => _entities.TryGetValue(key, out var value) ? value : default;

    /// <summary>The value of the key, when an entity has it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGet(string key, [MaybeNullWhen(false)] out T value) => _entities.TryGetValue(key, out value);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value) => _entities.TryGetValue(key, out value);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => _entities.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal override bool HasChangeHandlers => Changed is not null;

    internal override StateChangedEventArgs? Store(ReadOnlySpan<byte> json, JsonSlice keySlice, JsonSlice valueSlice, ChangeHeaders? headers, StateCheckpoint after)
    {
        // Deserialized before the dictionary is touched: a value that does not fit changes nothing.
        var value = StateMessage.Deserialize(json, valueSlice, _typeInfo, "value");
        var key = KeyOf(json, keySlice);
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entities, key, out var existed);
        var previous = slot;
        slot = value!;
        return headers is null ? null : new StateChange<T>(EntityType, key, headers, after, value, existed, existed ? previous : default);
    }

    internal override StateChangedEventArgs? Remove(ReadOnlySpan<byte> json, JsonSlice keySlice, ChangeHeaders? headers, StateCheckpoint after)
    {
        bool existed;
        T? previous;
        string? key = null;
#if NET9_0_OR_GREATER
        Span<char> chars = stackalloc char[StackKeyChars];
        if (TryDecodeKey(json, keySlice, chars, out var length))
        {
            existed = _byChars.Remove(chars[..length], out key, out previous);
            if (headers is null)
            {
                return null;
            }
            key ??= new string(chars[..length]);
            return new StateChange<T>(EntityType, key, headers, after, default, existed, previous);
        }
#endif
        key = keySlice.GetString(json);
        existed = _entities.Remove(key, out previous);
        return headers is null ? null : new StateChange<T>(EntityType, key, headers, after, default, existed, previous);
    }

    /// <summary>The key as a string: the stored instance when the key exists (no allocation), a new one otherwise.</summary>
    private string KeyOf(ReadOnlySpan<byte> json, JsonSlice keySlice)
    {
#if NET9_0_OR_GREATER
        Span<char> chars = stackalloc char[StackKeyChars];
        if (TryDecodeKey(json, keySlice, chars, out var length))
        {
            return _byChars.TryGetValue(chars[..length], out var existing, out _) ? existing : new string(chars[..length]);
        }
#endif
        return keySlice.GetString(json);
    }

#if NET9_0_OR_GREATER
    /// <summary>Decodes a short key without escapes into <paramref name="chars"/>.</summary>
    private static bool TryDecodeKey(ReadOnlySpan<byte> json, JsonSlice keySlice, Span<char> chars, out int length)
    {
        var utf8 = keySlice.Of(json)[1..^1];
        length = 0;
        if (utf8.Length > chars.Length || utf8.IndexOf((byte)'\\') >= 0)
        {
            return false;
        }
        length = System.Text.Encoding.UTF8.GetChars(utf8, chars);
        return true;
    }
#endif

    internal override void Raise(StateChangedEventArgs change) => Changed?.Invoke(this, (StateChange<T>)change);

    internal override void Clear() => _entities.Clear();

    internal override void WriteEntities(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in _entities)
        {
            writer.WritePropertyName(key);
            JsonSerializer.Serialize(writer, value, _typeInfo);
        }
        writer.WriteEndObject();
    }

    internal override void Load(string key, ReadOnlySpan<byte> json, JsonSlice valueSlice) =>
        _entities[key] = StateMessage.Deserialize(json, valueSlice, _typeInfo, $"entities.{EntityType}.{key}")!;
}
