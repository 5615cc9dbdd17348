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
}
