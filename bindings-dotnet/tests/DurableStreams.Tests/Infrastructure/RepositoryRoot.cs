namespace DurableStreams.Tests.Infrastructure;

/// <summary>Where the repository is, seen from a test assembly (shared by the test projects).</summary>
public static class RepositoryRoot
{
    /// <summary>The nearest ancestor of the test assembly holding Cargo.toml and bindings-dotnet/.</summary>
    /// <exception cref="InvalidOperationException">The test assembly is not inside the repository.</exception>
    public static string Path
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Cargo.toml")) && Directory.Exists(System.IO.Path.Combine(dir.FullName, "bindings-dotnet")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException($"No Cargo.toml above {AppContext.BaseDirectory}: cannot find the repository root.");
        }
    }
}
