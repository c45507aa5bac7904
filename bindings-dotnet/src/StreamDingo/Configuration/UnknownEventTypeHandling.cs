namespace StreamDingo;

/// <summary>What to do with a stored event whose type name is not registered.</summary>
public enum UnknownEventTypeHandling
{
    /// <summary>Fail the read with <see cref="UnknownEventTypeException"/> (type name and version). The default: silently ignoring events changes state.</summary>
    Fail = 0,

    /// <summary>Skip it (its hash chain is still verified) and log a warning.</summary>
    Skip = 1,
}
