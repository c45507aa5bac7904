using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Xml.Linq;

namespace DurableStreams.PackageTests;

/// <summary>
/// The packed DurableStreams (and, when packed too, its DI extension) ship symbols: a .snupkg next
/// to the .nupkg, with portable PDBs for every target framework whose SourceLink map points at the
/// sources on GitHub, and a nuspec naming the repository and commit.
/// </summary>
public class SymbolPackageTests
{
    private const string Version = "0.1.0";

    // The SourceLink custom debug information kind (portable PDB specification).
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    private static string PackagesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "artifacts", "packages");
            if (File.Exists(Path.Combine(candidate, $"DurableStreams.{Version}.nupkg")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("bindings-dotnet/artifacts/packages with the packed DurableStreams was not found: pack it first (./build.sh pack).");
    }

    public static TheoryData<string> Packages => new() { "DurableStreams", "DurableStreams.Extensions.DependencyInjection" };

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_symbol_package_is_next_to_the_package_with_SourceLink(string id)
    {
        var packages = PackagesDirectory();
        var nupkg = Path.Combine(packages, $"{id}.{Version}.nupkg");
        if (id != "DurableStreams" && !File.Exists(nupkg))
        {
            return; // only DurableStreams was packed (dotnet pack of its project alone)
        }
        var snupkg = Path.Combine(packages, $"{id}.{Version}.snupkg");
        Assert.True(File.Exists(snupkg), $"{snupkg} is missing: IncludeSymbols/SymbolPackageFormat snupkg in {id}.csproj");

        using (var package = ZipFile.OpenRead(nupkg))
        {
            var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using var stream = nuspec.Open();
            var repository = XDocument.Load(stream).Descendants().Single(e => e.Name.LocalName == "repository");
            Assert.Equal("https://github.com/durable-streams/durable-streams-native", (string?)repository.Attribute("url"));
            Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? "");
        }

        using var symbols = ZipFile.OpenRead(snupkg);
        var pdbs = symbols.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)).ToList();
        Assert.Equal(["lib/net10.0/", "lib/net8.0/"], pdbs.Select(e => e.FullName[..(e.FullName.LastIndexOf('/') + 1)]).Order(StringComparer.Ordinal));
        foreach (var entry in pdbs)
        {
            using var copy = new MemoryStream();
            using (var source = entry.Open())
            {
                source.CopyTo(copy);
            }
            copy.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(copy);
            var reader = provider.GetMetadataReader();
            var sourceLink = reader.CustomDebugInformation
                .Select(reader.GetCustomDebugInformation)
                .Where(info => reader.GetGuid(info.Kind) == SourceLinkKind)
                .Select(info => Encoding.UTF8.GetString(reader.GetBlobBytes(info.Value)))
                .SingleOrDefault();
            Assert.True(sourceLink is not null, $"{entry.FullName} has no SourceLink map");
            Assert.Contains("https://raw.githubusercontent.com/durable-streams/durable-streams-native/", sourceLink, StringComparison.Ordinal);
            Assert.True(reader.Documents.Count > 0, $"{entry.FullName} lists no documents");
        }
    }
}
