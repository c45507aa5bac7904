using System.Text.Json;

namespace DurableStreams.State;

/// <summary>
/// A change to one entity: <c>{"type", "key", "value"?, "old_value"?, "headers": {"operation", ...}}</c>,
/// with values of type <typeparamref name="T"/>. Build one with <see cref="ChangeEvent.Insert{T}"/>,
/// <see cref="ChangeEvent.Update{T}"/>, <see cref="ChangeEvent.Upsert{T}"/> or
/// <see cref="ChangeEvent.Delete(string, string)"/> and the <c>With*</c> methods.
/// </summary>
/// <typeparam name="T">The value type (use <see cref="JsonElement"/> for any JSON).</typeparam>
/// <remarks>
/// <see cref="HasValue"/> tells an absent <c>value</c> from a JSON <c>null</c> one (a delete may
/// carry either), so events round-trip exactly; the same holds for <see cref="HasOldValue"/>.
/// </remarks>
public sealed record ChangeEvent<T>
{
    private readonly T? _value;
    private readonly T? _oldValue;

    /// <summary>A change without value or old value (set them with <see cref="Value"/> and <see cref="OldValue"/>).</summary>
    /// <param name="operation"><c>headers.operation</c>.</param>
    /// <param name="entityType"><c>type</c>: the entity type (collection) the key belongs to.</param>
    /// <param name="key"><c>key</c>: the entity's key within its type.</param>
    /// <exception cref="ArgumentNullException"><paramref name="entityType"/> or <paramref name="key"/> is null.</exception>
    public ChangeEvent(StateOperation operation, string entityType, string key)
    {
        ArgumentNullException.ThrowIfNull(entityType);
        ArgumentNullException.ThrowIfNull(key);
        EntityType = entityType;
        Key = key;
        Headers = new ChangeHeaders(operation);
    }

    /// <summary><c>type</c>: the entity type (collection) the key belongs to.</summary>
    public string EntityType { get; init; }

    /// <summary><c>key</c>: the entity's key within its type.</summary>
    public string Key { get; init; }

    /// <summary><c>value</c>: the new value (required for insert, update and upsert). Setting it sets <see cref="HasValue"/>.</summary>
    public T? Value
    {
        get => _value;
        init
        {
            _value = value;
            HasValue = true;
        }
    }

    /// <summary>Whether the event has a <c>value</c> field (possibly JSON <c>null</c>).</summary>
    public bool HasValue { get; init; }

    /// <summary><c>old_value</c>: the previous value, when the writer supplies it. Setting it sets <see cref="HasOldValue"/>.</summary>
    public T? OldValue
    {
        get => _oldValue;
        init
        {
            _oldValue = value;
            HasOldValue = true;
        }
    }

    /// <summary>Whether the event has an <c>old_value</c> field.</summary>
    public bool HasOldValue { get; init; }

    /// <summary><c>headers</c>.</summary>
    public ChangeHeaders Headers { get; init; }

    /// <summary><c>headers.operation</c>.</summary>
    public StateOperation Operation => Headers.Operation;

    /// <summary><c>headers.txid</c>.</summary>
    public string? TxId => Headers.TxId;

    /// <summary>This event with <c>old_value</c>.</summary>
    /// <param name="oldValue">The previous value.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithOldValue(T? oldValue) => this with { OldValue = oldValue };

    /// <summary>This event with <c>headers.txid</c> (non-empty: checked when written).</summary>
    /// <param name="txId">The transaction id.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithTxId(string txId) => this with { Headers = Headers with { TxId = txId } };

    /// <summary>This event with <c>headers.timestamp</c> written as JavaScript's <c>toISOString</c> does (<c>2025-01-15T10:30:00.250Z</c>).</summary>
    /// <param name="timestamp">When the change happened.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithTimestamp(DateTimeOffset timestamp) => this with { Headers = Headers with { Timestamp = StateTimestamp.Format(timestamp) } };

    /// <summary>This event with <c>headers.timestamp</c> as given (an RFC 3339 date-time: checked when written).</summary>
    /// <param name="timestamp">The timestamp text.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithTimestamp(string timestamp) => this with { Headers = Headers with { Timestamp = timestamp } };

    /// <summary>This event with <c>headers.from</c>.</summary>
    /// <param name="from">Where the change came from.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithFrom(string from) => this with { Headers = Headers with { From = from } };

    /// <summary>
    /// This event with another string header (the names of <see cref="ChangeHeaders"/>' own
    /// properties and <c>control</c> are refused when the event is written).
    /// </summary>
    /// <param name="name">The header name.</param>
    /// <param name="value">Its value.</param>
    /// <returns>A new event.</returns>
    public ChangeEvent<T> WithHeader(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var extra = Headers.Extra is null ? new Dictionary<string, JsonElement>(StringComparer.Ordinal) : new Dictionary<string, JsonElement>(Headers.Extra, StringComparer.Ordinal);
        extra[name] = JsonSerializer.SerializeToElement(value, StateJsonContext.Default.String);
        return this with { Headers = Headers with { Extra = extra } };
    }
}

/// <summary>Builds change events.</summary>
public static class ChangeEvent
{
    /// <summary>An <c>insert</c> of <paramref name="value"/> at <paramref name="entityType"/>/<paramref name="key"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>The event.</returns>
    public static ChangeEvent<T> Insert<T>(string entityType, string key, T? value) => new(StateOperation.Insert, entityType, key) { Value = value };

    /// <summary>An <c>update</c> of <paramref name="entityType"/>/<paramref name="key"/> to <paramref name="value"/> (add <c>old_value</c> with <see cref="ChangeEvent{T}.WithOldValue"/>).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <returns>The event.</returns>
    public static ChangeEvent<T> Update<T>(string entityType, string key, T? value) => new(StateOperation.Update, entityType, key) { Value = value };

    /// <summary>An <c>upsert</c> of <paramref name="entityType"/>/<paramref name="key"/> to <paramref name="value"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>The event.</returns>
    public static ChangeEvent<T> Upsert<T>(string entityType, string key, T? value) => new(StateOperation.Upsert, entityType, key) { Value = value };

    /// <summary>A <c>delete</c> of <paramref name="entityType"/>/<paramref name="key"/>, without <c>value</c> (as the npm helper writes it).</summary>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <returns>The event (its value type is <see cref="JsonElement"/>: it carries no value).</returns>
    public static ChangeEvent<JsonElement> Delete(string entityType, string key) => new(StateOperation.Delete, entityType, key);

    /// <summary>A <c>delete</c> of <paramref name="entityType"/>/<paramref name="key"/> with values of type <typeparamref name="T"/> (to add <c>old_value</c>).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="entityType">The entity type.</param>
    /// <param name="key">The key.</param>
    /// <returns>The event.</returns>
    public static ChangeEvent<T> Delete<T>(string entityType, string key) => new(StateOperation.Delete, entityType, key);
}
