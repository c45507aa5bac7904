namespace DurableStreams.State;

/// <summary>
/// A message of a state stream is not a valid State Protocol message, or its value does not
/// deserialize as the collection's type. Nothing from this message on was applied or delivered:
/// <see cref="Checkpoint"/> is exactly the position of the message (everything before it is
/// applied), so reading on from there meets the same message again; nothing is skipped silently.
/// </summary>
/// <remarks>
/// <see cref="DurableStreamException.Code"/> is <see cref="DurableStreamErrorCode.ParseError"/>;
/// <see cref="DurableStreamException.StreamUrl"/> names the stream (when the message was read from one).
/// To skip the message deliberately, resume from <see cref="NextCheckpoint"/>.
/// </remarks>
public class MalformedStateEventException : DurableStreamException
{
    /// <summary>An exception without details (for serializers and test doubles).</summary>
    public MalformedStateEventException()
        : base("A state event is malformed.")
    {
    }

    /// <summary>An exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MalformedStateEventException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MalformedStateEventException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An exception naming the field, the stream and the message's position.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="field">The field at fault (<c>headers.operation</c>), or null when the whole message is.</param>
    /// <param name="streamUrl">The stream (redacted), when read from one.</param>
    /// <param name="checkpoint">The position of the malformed message.</param>
    /// <param name="innerException">The cause (a <see cref="System.Text.Json.JsonException"/> for a value that does not deserialize).</param>
    public MalformedStateEventException(string message, string? field, string? streamUrl, StateCheckpoint? checkpoint, Exception? innerException = null)
        : base(message, DurableStreamErrorCode.ParseError, statusCode: null, streamUrl: streamUrl, innerException: innerException)
    {
        Field = field;
        Checkpoint = checkpoint;
    }

    /// <summary>The field at fault (<c>type</c>, <c>key</c>, <c>value</c>, <c>headers.operation</c>...), or null when the message as a whole is (not JSON, not an object).</summary>
    public string? Field { get; }

    /// <summary>The position of the malformed message in the stream (null when it was not read from a stream).</summary>
    public StateCheckpoint? Checkpoint { get; }

    /// <summary>The position just after the malformed message: resume from it to skip the message on purpose.</summary>
    public StateCheckpoint? NextCheckpoint => Checkpoint is { } at ? new StateCheckpoint(at.Position, at.SkipMessages + 1) : null;
}

/// <summary>What is wrong with a message, before the stream and position are known (caught and wrapped by the readers).</summary>
internal sealed class StateFormatException : Exception
{
    public StateFormatException()
    {
    }

    public StateFormatException(string message)
        : base(message)
    {
    }

    public StateFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal StateFormatException(string? field, string problem, Exception? innerException = null)
        : base(field is null ? $"the message {problem}" : $"field `{field}` {problem}", innerException)
    {
        Field = field;
    }

    internal string? Field { get; }

    /// <summary>The public exception, with the stream and the message's position.</summary>
    internal MalformedStateEventException WithContext(string? streamUrl, StateCheckpoint? at)
    {
        var where = at is { } checkpoint
            ? $"the message at {checkpoint} of {streamUrl ?? "the stream"}"
            : "a state event";
        return new MalformedStateEventException($"Malformed state event: {where}: {Message}.", Field, streamUrl, at, InnerException);
    }
}
