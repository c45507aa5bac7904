using System.Collections.Concurrent;

namespace StreamDingo;

/// <summary>
/// The build-time source hashes of event handlers. The StreamDingo source generator adds, to every
/// assembly that declares handlers, a module initializer that calls <see cref="Register"/> for each
/// one, so the runtime finds a handler's hash by its type, without reflection.
/// </summary>
public static class HandlerHashes
{
    private static readonly ConcurrentDictionary<Type, HandlerHash> s_hashes = new();

    /// <summary>Records a handler's hash (called by generated code; a later call for the same type replaces the earlier one).</summary>
    /// <param name="handlerType">The handler class.</param>
    /// <param name="name">The handler's stable name (its full type name), the key in <see cref="Snapshot{T}.HandlerHashes"/>.</param>
    /// <param name="hash">The SHA-256 of its normalised source, lowercase hexadecimal.</param>
    public static void Register(Type handlerType, string name, string hash)
    {
        ArgumentNullException.ThrowIfNull(handlerType);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(hash);
        s_hashes[handlerType] = new HandlerHash(name, hash);
    }

    /// <summary>The registered hash of a handler type.</summary>
    /// <param name="handlerType">The handler class.</param>
    /// <param name="hash">The name and hash when registered.</param>
    /// <returns>Whether the type has a generated hash.</returns>
    public static bool TryGet(Type handlerType, out HandlerHash hash)
    {
        ArgumentNullException.ThrowIfNull(handlerType);
        if (s_hashes.TryGetValue(handlerType, out hash))
        {
            return true;
        }
        // A module's initializer runs before its code does; a type seen only through typeof() may precede it.
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(handlerType.Module.ModuleHandle);
        return s_hashes.TryGetValue(handlerType, out hash);
    }
}

/// <summary>A handler's stable name and source hash.</summary>
/// <param name="Name">The handler's full type name.</param>
/// <param name="Hash">The SHA-256 of its normalised source (lowercase hexadecimal).</param>
public readonly record struct HandlerHash(string Name, string Hash);
