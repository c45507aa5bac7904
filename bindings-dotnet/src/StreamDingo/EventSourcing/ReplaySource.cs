namespace StreamDingo;

/// <summary>Which branch of the replay flow produced a loaded state.</summary>
public enum ReplaySource
{
    /// <summary>The stream has no snapshot: every event was replayed.</summary>
    FromBeginning = 0,

    /// <summary>The newest snapshot was built by the current handlers: events after it were applied.</summary>
    FromLatestSnapshot = 1,

    /// <summary>The newest snapshot was built by other handler code; an older snapshot built by the current handlers was used.</summary>
    FromCompatibleSnapshot = 2,

    /// <summary>The handlers changed and no snapshot was built by the current ones: every event was replayed.</summary>
    FromBeginningAfterHandlerChange = 3,
}
