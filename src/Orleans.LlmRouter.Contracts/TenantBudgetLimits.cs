namespace Orleans.LlmRouter.Contracts;

/// <summary>Budget limits of a tenant; null means no limit in that window.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantBudgetLimits")]
public sealed record TenantBudgetLimits
{
    /// <summary>Token limit over the tenant's whole life.</summary>
    [Id(0)] public long? LifetimeTokens { get; init; }

    /// <summary>Token limit of the day (from 00:00 in the tenant's time zone).</summary>
    [Id(1)] public long? DailyTokens { get; init; }

    /// <summary>Token limit of the calendar month (from the 1st, 00:00 in the tenant's time zone).</summary>
    [Id(2)] public long? MonthlyTokens { get; init; }

    /// <summary>USD limit over the tenant's whole life.</summary>
    [Id(3)] public decimal? LifetimeUsd { get; init; }

    /// <summary>USD limit of the day (from 00:00 in the tenant's time zone).</summary>
    [Id(4)] public decimal? DailyUsd { get; init; }

    /// <summary>USD limit of the calendar month (from the 1st, 00:00 in the tenant's time zone).</summary>
    [Id(5)] public decimal? MonthlyUsd { get; init; }

    /// <summary>Token limit of one run (<see cref="RouterContext.RunId"/>).</summary>
    [Id(6)] public long? RunTokens { get; init; }

    /// <summary>USD limit of one run (<see cref="RouterContext.RunId"/>).</summary>
    [Id(7)] public decimal? RunUsd { get; init; }

    /// <summary>Token limit of the ISO week (Monday 00:00 in the tenant's time zone).</summary>
    [Id(8)] public long? WeeklyTokens { get; init; }

    /// <summary>USD limit of the ISO week (Monday 00:00 in the tenant's time zone).</summary>
    [Id(9)] public decimal? WeeklyUsd { get; init; }

    /// <summary>
    /// The limits that are set, as (window name, unit <c>tokens</c>|<c>usd</c>, limit): the one place that maps these
    /// fields onto the budget windows (window names as in <c>BudgetWindows</c>, plus <c>run</c>).
    /// </summary>
    public IEnumerable<(string Window, string Unit, decimal Limit)> Entries()
    {
        (string Window, string Unit, decimal? Limit)[] all =
        [
            ("lifetime", "tokens", LifetimeTokens), ("daily", "tokens", DailyTokens), ("weekly", "tokens", WeeklyTokens), ("monthly", "tokens", MonthlyTokens), ("run", "tokens", RunTokens),
            ("lifetime", "usd", LifetimeUsd), ("daily", "usd", DailyUsd), ("weekly", "usd", WeeklyUsd), ("monthly", "usd", MonthlyUsd), ("run", "usd", RunUsd),
        ];
        foreach (var (window, unit, limit) in all)
        {
            if (limit is { } l)
            {
                yield return (window, unit, l);
            }
        }
    }
}
