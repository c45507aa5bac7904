using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using StreamDingo.Generated;
using StreamDingo.Generators;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class GeneratorTests
{
    [Fact]
    public void Whitespace_and_comments_do_not_change_a_handlers_hash()
    {
        Assert.Equal(
            GeneratedHashes.HashOf(DepositHandlerBuilds.Original, DepositHandlerBuilds.Name),
            GeneratedHashes.HashOf(DepositHandlerBuilds.Reformatted, DepositHandlerBuilds.Name));
    }

    [Theory]
    [InlineData("account.Balance + @event.Amount,", "account.Balance - @event.Amount,")]
    [InlineData("Operations = account.Operations + 1", "Operations = account.Operations + 2")]
    [InlineData("\"Deposit before the account was opened.\"", "\"Deposit before opening.\"")]
    [InlineData("var account = previousSnapshot", "var acct = previousSnapshot; var account = acct")]
    public void Any_change_to_a_handlers_code_changes_its_hash(string before, string after)
    {
        var changed = DepositHandlerBuilds.Original.Replace(before, after, StringComparison.Ordinal);
        Assert.NotEqual(DepositHandlerBuilds.Original, changed);
        Assert.NotEqual(
            GeneratedHashes.HashOf(DepositHandlerBuilds.Original, DepositHandlerBuilds.Name),
            GeneratedHashes.HashOf(changed, DepositHandlerBuilds.Name));
    }

    [Fact]
    public void The_hash_is_the_sha256_of_the_normalised_tokens()
    {
        var tree = CSharpSyntaxTree.ParseText(DepositHandlerBuilds.Original);
        var declaration = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Single();
        var normalised = HandlerSourceHasher.Normalise([declaration]);
        Assert.StartsWith("public sealed class DepositHandler : IEventHandler < Account , MoneyDeposited >", normalised, StringComparison.Ordinal);
        Assert.DoesNotContain("  ", normalised, StringComparison.Ordinal);
        Assert.Equal(Sha256HashProvider.Instance.ComputeHashHex(System.Text.Encoding.UTF8.GetBytes(normalised)), HandlerSourceHasher.Compute([declaration]));
        Assert.Equal(GeneratedHashes.HashOf(DepositHandlerBuilds.Original, DepositHandlerBuilds.Name), HandlerSourceHasher.Compute([declaration]));
    }

    [Fact]
    public void Only_concrete_non_generic_visible_handlers_are_registered_and_partial_ones_once()
    {
        var (hashes, generated, errors) = GeneratedHashes.Run("""
            using StreamDingo;
            using StreamDingo.Tests.Domain;
            namespace Shop;
            public abstract class BaseHandler : IEventHandler<Account, MoneyDeposited> { public abstract Account Handle(Account? s, MoneyDeposited e); }
            public sealed class Concrete : BaseHandler { public override Account Handle(Account? s, MoneyDeposited e) => s!; }
            public sealed class Generic<T> : IEventHandler<Account, MoneyDeposited> { public Account Handle(Account? s, MoneyDeposited e) => s!; }
            public sealed partial class Split : IEventHandler<Account, MoneyDeposited> { }
            public sealed partial class Split { public Account Handle(Account? s, MoneyDeposited e) => s!; }
            internal sealed class Internal : IEventHandler<Account, MoneyWithdrawn> { public Account Handle(Account? s, MoneyWithdrawn e) => s!; }
            public static class Outer { private sealed class Hidden : IEventHandler<Account, MoneyDeposited> { public Account Handle(Account? s, MoneyDeposited e) => s!; } }
            public sealed class NotAHandler { }
            """);
        Assert.Empty(errors);
        Assert.Equal(["Shop.Concrete", "Shop.Internal", "Shop.Split"], hashes.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("[global::System.Runtime.CompilerServices.ModuleInitializer]", generated, StringComparison.Ordinal);
        Assert.Contains("public const string Shop_Split = ", generated, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Reflection", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void This_assemblys_handlers_carry_generated_hashes_of_their_own_source()
    {
        Assert.True(HandlerHashes.TryGet(typeof(MoneyDepositedHandler), out var registered));
        Assert.Equal(typeof(MoneyDepositedHandler).FullName, registered.Name);
        Assert.Equal(HandlerHashStamps.StreamDingo_Tests_Domain_MoneyDepositedHandler, registered.Hash);

        // Recompute from the source file the build compiled.
        var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(SourceDirectory(), "Domain.cs")));
        var declaration = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Single(c => c.Identifier.Text == nameof(MoneyDepositedHandler));
        Assert.Equal(HandlerSourceHasher.Compute([declaration]), registered.Hash);

        Assert.True(HandlerHashes.TryGet(typeof(MoneyDepositedWithBonusHandler), out var bonus));
        Assert.NotEqual(registered.Hash, bonus.Hash);
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
