namespace System.Runtime.CompilerServices;

/// <summary>Lets netstandard2.0 compile records (the compiler needs this type; the runtime does not).</summary>
internal static class IsExternalInit
{
}
