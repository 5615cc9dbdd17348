namespace Orleans.LlmRouter.Contracts;

/// <summary>The names of the budget levels a call passes: a tenant, its project, its key and its end user.</summary>
public static class BudgetLevels
{
    /// <summary>The tenant.</summary>
    public const string Tenant = "tenant";

    /// <summary>A project (or team) of the tenant.</summary>
    public const string Project = "project";

    /// <summary>A tenant key.</summary>
    public const string Key = "key";

    /// <summary>An end user of the tenant's application.</summary>
    public const string EndUser = "end_user";
}
