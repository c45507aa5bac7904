namespace DurableStreams.Interop;

/// <summary>A native claim (<c>DsClaim</c>) and its JSON document.</summary>
internal sealed unsafe class NativeClaim : IDisposable
{
    private NativeClaim(ClaimHandle handle, string json)
    {
        Handle = handle;
        Json = json;
    }

    internal ClaimHandle Handle { get; }

    /// <summary>The claim's document (<c>ds_claim_json</c>).</summary>
    internal string Json { get; }

    /// <summary>Takes ownership of a claim the library just delivered.</summary>
    internal static NativeClaim Adopt(DsClaim* claim)
    {
        var handle = new ClaimHandle();
        handle.Adopt((nint)claim);
        return new NativeClaim(handle, NativeString.Read(NativeMethods.ds_claim_json(claim)) ?? "{}");
    }

    public void Dispose() => Handle.Dispose();
}
