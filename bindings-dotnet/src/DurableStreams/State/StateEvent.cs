namespace DurableStreams.State;

/// <summary>One message of a state stream: a <see cref="Change"/> or a <see cref="Control"/> message (exactly one is set).</summary>
/// <typeparam name="T">The value type of changes.</typeparam>
public sealed record StateEvent<T>
{
    /// <summary>A change message.</summary>
    /// <param name="change">The change.</param>
    /// <exception cref="ArgumentNullException"><paramref name="change"/> is null.</exception>
    public StateEvent(ChangeEvent<T> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Change = change;
    }

    /// <summary>A control message.</summary>
    /// <param name="control">The control message.</param>
    /// <exception cref="ArgumentNullException"><paramref name="control"/> is null.</exception>
    public StateEvent(ControlEvent control)
    {
        ArgumentNullException.ThrowIfNull(control);
        Control = control;
    }

    /// <summary>The change, when this is one.</summary>
    public ChangeEvent<T>? Change { get; }

    /// <summary>The control message, when this is one.</summary>
    public ControlEvent? Control { get; }

    /// <summary>Whether this is a control message.</summary>
    public bool IsControl => Control is not null;

    /// <summary>Wraps a change.</summary>
    /// <param name="change">The change.</param>
    public static implicit operator StateEvent<T>(ChangeEvent<T> change) => new(change);

    /// <summary>Wraps a control message.</summary>
    /// <param name="control">The control message.</param>
    public static implicit operator StateEvent<T>(ControlEvent control) => new(control);
}
