namespace StreamDingo;

/// <summary>The outcome of an append.</summary>
/// <param name="StreamId">The stream.</param>
/// <param name="FirstVersion">The version of the first appended event.</param>
/// <param name="LastVersion">The version of the last appended event: the stream's version after the append.</param>
/// <param name="LastHash">The chain hash of the last appended event.</param>
/// <param name="Duplicate">True when the same append (same append id) had already been stored, so nothing new was written.</param>
public sealed record EventAppendResult(string StreamId, long FirstVersion, long LastVersion, string LastHash, bool Duplicate);
