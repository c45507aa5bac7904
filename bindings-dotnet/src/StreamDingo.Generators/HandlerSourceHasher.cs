using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;

namespace StreamDingo.Generators;

/// <summary>
/// Hashes a handler's normalised source: its tokens without trivia, so whitespace, line breaks and
/// comments do not change the hash, while any change to a token (a name, an operator, a literal,
/// a statement added or removed) does.
/// </summary>
internal static class HandlerSourceHasher
{
    /// <summary>The normalised text of the declarations: every token's text, separated by one space.</summary>
    public static string Normalise(IEnumerable<SyntaxNode> declarations)
    {
        var builder = new StringBuilder();
        foreach (var declaration in declarations)
        {
            foreach (var token in declaration.DescendantTokens(descendIntoTrivia: false))
            {
                if (builder.Length > 0)
                {
                    builder.Append(' ');
                }
                builder.Append(token.Text);
            }
            // Separates partial declarations so that moving a member between parts changes the hash.
            builder.Append('\n');
        }
        return builder.ToString();
    }

    /// <summary>The lowercase hexadecimal SHA-256 of the normalised text of the declarations.</summary>
    public static string Compute(IEnumerable<SyntaxNode> declarations) => Sha256Hex(Normalise(declarations));

    /// <summary>The lowercase hexadecimal SHA-256 of the UTF-8 bytes of the text.</summary>
    public static string Sha256Hex(string text)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
        return string.Concat(hash.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }
}
