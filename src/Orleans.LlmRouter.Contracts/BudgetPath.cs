namespace Orleans.LlmRouter.Contracts;

/// <summary>The levels below the tenant a call reserves and settles at: its project, key and end user (each optional).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.BudgetPath")]
public sealed record BudgetPath(
    [property: Id(0)] string? ProjectId,
    [property: Id(1)] string? KeyId,
    [property: Id(2)] string? EndUser)
{
    /// <summary>No level below the tenant.</summary>
    public static readonly BudgetPath None = new(null, null, null);
}
