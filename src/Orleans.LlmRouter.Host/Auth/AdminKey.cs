using System.Security.Cryptography;
using System.Text;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>
/// The admin key guarding <c>/api/v1</c>, held as a SHA-256 hash (setting <c>LlmRouter:AdminKeyHash</c>,
/// <c>sha256:&lt;hex&gt;</c>) and compared in constant time. With no hash configured the admin API is closed.
/// </summary>
internal sealed class AdminKey
{
    private readonly byte[]? _hash;

    public AdminKey(string? configuredHash)
    {
        if (!string.IsNullOrWhiteSpace(configuredHash) && configuredHash.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase) && configuredHash.Length == 71)
        {
            _hash = Convert.FromHexString(configuredHash[7..]);
        }
    }

    public bool IsConfigured => _hash is not null;

    public bool Matches(string? key)
    {
        if (_hash is null || string.IsNullOrEmpty(key) || key.Length > 512)
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), presented);
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }

    /// <summary>The bearer token of a request, if any.</summary>
    public static string? Bearer(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var header = http.Request.Headers.Authorization.FirstOrDefault();
        return header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
