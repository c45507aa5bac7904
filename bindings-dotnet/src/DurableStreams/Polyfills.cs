#if !NET9_0_OR_GREATER
namespace System.Runtime.CompilerServices;

/// <summary>
/// Polyfill of the .NET 9 attribute for the net8.0 build: C# 13+ compilers prefer the overload
/// with the higher priority when a call is otherwise ambiguous (e.g. a literal <c>null</c> options
/// argument that could also be a <c>JsonTypeInfo</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
internal sealed class OverloadResolutionPriorityAttribute : Attribute
{
    public OverloadResolutionPriorityAttribute(int priority) => Priority = priority;

    public int Priority { get; }
}
#endif
