namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>The response cache's gateway-wide defaults (<c>LlmRouter:Cache</c>); tenants and actions override them in YAML.</summary>
public sealed class ResponseCacheOptions
{
    /// <summary>How long a stored answer stays when neither the request, its action nor its tenant says (default one hour).</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The most bytes of stored answers one namespace (a tenant's, or a shared one) keeps (default 64 MiB).</summary>
    public long MaxBytesPerNamespace { get; set; } = 64L * 1024 * 1024;

    /// <summary>Answers larger than this, serialized, are not stored (default 1 MiB).</summary>
    public int MaxEntryBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long a silo keeps its own copy of an answer it read or stored, and serves it without asking the store (never
    /// past the answer's TTL). Zero (the default) keeps none. A purge reaches the other silos' copies only when they lapse.
    /// </summary>
    public TimeSpan LocalCopy { get; set; } = TimeSpan.Zero;

    /// <summary>The most answers a silo keeps copies of (default 10,000); past it the copies are dropped and refilled.</summary>
    public int MaxLocalCopies { get; set; } = 10_000;
}
