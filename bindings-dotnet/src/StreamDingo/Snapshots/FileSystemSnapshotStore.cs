using System.Runtime.CompilerServices;
using System.Text;

namespace StreamDingo;

/// <summary>
/// Snapshots as JSON files: <c>{root}/{stream id, hex-encoded}/{state type}/{version:D20}-{ticks}.json</c>,
/// written to a temporary file and renamed, so a reader never sees half a snapshot. For tests and
/// single-machine applications.
/// </summary>
public sealed class FileSystemSnapshotStore : ISnapshotStore
{
    private readonly string _root;

    /// <summary>A store under <paramref name="rootDirectory"/> (created when missing).</summary>
    /// <param name="rootDirectory">The directory.</param>
    public FileSystemSnapshotStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        _root = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(_root);
    }

    /// <summary>The directory holding the snapshots of one stream and state type.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="stateType">The registered state type name.</param>
    /// <returns>The directory path.</returns>
    public string DirectoryOf(string streamId, string stateType) =>
        Path.Combine(_root, Convert.ToHexStringLower(Encoding.UTF8.GetBytes(streamId)), Convert.ToHexStringLower(Encoding.UTF8.GetBytes(stateType)));

    /// <inheritdoc />
    public async ValueTask SaveAsync(SnapshotRecord snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var directory = DirectoryOf(snapshot.StreamId, snapshot.StateType);
        Directory.CreateDirectory(directory);
        var name = $"{snapshot.Version:D20}-{DateTime.UtcNow.Ticks:D20}-{Guid.NewGuid():N}.json";
        var temporary = Path.Combine(directory, name + ".tmp");
        await File.WriteAllBytesAsync(temporary, SnapshotRecordJson.Serialize(snapshot), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, Path.Combine(directory, name));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SnapshotRecord> ReadNewestFirstAsync(string streamId, string stateType, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var directory = DirectoryOf(streamId, stateType);
        if (!Directory.Exists(directory))
        {
            yield break;
        }
        // Zero-padded names sort by version, then by time taken.
        var files = Directory.GetFiles(directory, "*.json").OrderByDescending(f => Path.GetFileName(f), StringComparer.Ordinal);
        foreach (var file in files)
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                continue; // deleted meanwhile
            }
            SnapshotRecord record;
            try
            {
                record = SnapshotRecordJson.Read(bytes);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new SnapshotIntegrityException(streamId, 0, $"the file {file} is not a snapshot ({e.Message})");
            }
            yield return record;
        }
    }
}
