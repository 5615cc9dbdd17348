using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>Turns a managed tenant (admin API settings) into the definition routing and budgets read.</summary>
internal static class ManagedTenants
{
    public static TenantDefinition Define(ManagedTenant managed)
    {
        var s = managed.Settings;
        var projects = managed.Projects.ToDictionary(p => p.Id, p => Level(BudgetLevels.Project, p.Id, p), StringComparer.Ordinal);
        var keys = managed.Keys.Where(k => k.RevokedAt is null).ToDictionary(
            k => k.KeyId,
            k => new KeyDefinition(k.KeyId, k.Hash, k.Settings.Project, k.Settings.ExpiresAt, Level(BudgetLevels.Key, k.KeyId, k.Settings))
            {
                Label = k.Settings.Label,
                PreviousHash = k.PreviousHash,
                PreviousValidUntil = k.PreviousValidUntil,
            },
            StringComparer.Ordinal);
        return new TenantDefinition(
            s.Id, s.Name, [], Limits(s.Budgets),
            new ProviderLimits(s.RequestsPerMinute, s.TokensPerMinute),
            s.AllowedModels.ToHashSet(StringComparer.Ordinal), s.AllowedActions.ToHashSet(StringComparer.Ordinal),
            s.SoftAlertThreshold, s.TimeZone, new SourceLocation("admin-api", 0, 0))
        {
            AlertWebhook = s.AlertWebhook,
            Projects = projects,
            Keys = keys,
            EndUsers = managed.EndUsers.ToDictionary(kv => kv.Key, kv => Level(BudgetLevels.EndUser, kv.Key, kv.Value), StringComparer.Ordinal),
        };
    }

    /// <summary>A level's definition from its settings.</summary>
    public static LevelDefinition Level(string level, string id, LevelSettings s) =>
        new(level, id, Limits(s.Budgets), new ProviderLimits(s.RequestsPerMinute, s.TokensPerMinute),
            s.AllowedModels.ToHashSet(StringComparer.Ordinal), s.AllowedActions.ToHashSet(StringComparer.Ordinal))
        {
            SoftAlertThreshold = s.SoftAlertThreshold,
            AlertWebhook = s.AlertWebhook,
        };

    /// <summary>Budget limits from the admin API's field names.</summary>
    public static BudgetLimits Limits(TenantBudgetLimits b) =>
        new(b.Entries().Select(e => KeyValuePair.Create((e.Window, e.Unit == "usd" ? BudgetUnit.Usd : BudgetUnit.Tokens), e.Limit)));
}
