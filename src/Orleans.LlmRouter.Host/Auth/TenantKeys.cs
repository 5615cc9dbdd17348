using System.Security.Cryptography;
using System.Text;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>
/// Resolves a bearer key to its tenant. Keys are only ever held as SHA-256 hashes; the presented key is hashed and
/// compared in constant time against the stored hash.
/// </summary>
public sealed class TenantKeys
{
    private readonly Dictionary<string, (byte[] Hash, TenantDefinition Tenant)> _byHash = new(StringComparer.Ordinal);

    public TenantKeys(ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        foreach (var tenant in catalog.Tenants.Values)
        {
            foreach (var stored in tenant.KeyHashes)
            {
                var hex = stored["sha256:".Length..];
                _byHash[hex] = (Convert.FromHexString(hex), tenant);
            }
        }
    }

    /// <summary>The <c>sha256:</c> form of a key, as stored in configuration.</summary>
    public static string HashOf(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public TenantDefinition? Resolve(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 512)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        var hex = Convert.ToHexStringLower(hash);
        return _byHash.TryGetValue(hex, out var entry) && CryptographicOperations.FixedTimeEquals(entry.Hash, hash) ? entry.Tenant : null;
    }
}
