namespace Orleans.LlmRouter.Contracts;

/// <summary>Key conventions: prefixed so ids that look hexadecimal do not collide in storage.</summary>
public static class TenantBudgetKeys
{
    /// <summary>The budget grain key of a tenant: <c>t:</c> followed by the tenant id.</summary>
    public static string For(string tenantId) => "t:" + tenantId;

    /// <summary>The tenant id of a budget grain key; a key without the <c>t:</c> prefix is returned as it is.</summary>
    public static string TenantOf(string key) => key.StartsWith("t:", StringComparison.Ordinal) ? key[2..] : key;
}
