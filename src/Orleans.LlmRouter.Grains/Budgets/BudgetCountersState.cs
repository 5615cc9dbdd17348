using Orleans.LlmRouter.Core.Budgets;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// Serializable mirror of <see cref="BudgetCounters"/>. Stored rows outlive code: the per-window fields [Id(0..7)] are
/// what rows written before windows were data hold, and they are still read (and still written for lifetime, daily and
/// monthly, so an older silo reads a newer row); <see cref="Windows"/> holds every window by name.
/// </summary>
[GenerateSerializer, Alias("llmrouter.BudgetCountersState")]
internal sealed class BudgetCountersState
{
    [Id(0)] public long LifetimeTokens { get; set; }

    [Id(1)] public decimal LifetimeUsd { get; set; }

    [Id(2)] public string DayKey { get; set; } = string.Empty;

    [Id(3)] public long DayTokens { get; set; }

    [Id(4)] public decimal DayUsd { get; set; }

    [Id(5)] public string MonthKey { get; set; } = string.Empty;

    [Id(6)] public long MonthTokens { get; set; }

    [Id(7)] public decimal MonthUsd { get; set; }

    /// <summary>Tokens per run, as stored before runs had USD and an idle time (read for old rows only).</summary>
    [Id(8)] public Dictionary<string, long> RunTokens { get; set; } = [];

    [Id(9)] public HashSet<string> AlertsFired { get; set; } = [];

    [Id(10)] public Dictionary<string, RunState> Runs { get; set; } = [];

    /// <summary>Usage per window name (<see cref="BudgetWindows.All"/>); empty in rows stored before it existed.</summary>
    [Id(11)] public Dictionary<string, WindowState> Windows { get; set; } = [];

    public static BudgetCountersState From(BudgetCounters c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var lifetime = c[BudgetWindows.Lifetime];
        var day = c[BudgetWindows.Daily];
        var month = c[BudgetWindows.Monthly];
        return new()
        {
            LifetimeTokens = lifetime.Tokens, LifetimeUsd = lifetime.Usd, DayKey = day.Key, DayTokens = day.Tokens, DayUsd = day.Usd,
            MonthKey = month.Key, MonthTokens = month.Tokens, MonthUsd = month.Usd,
            Windows = c.Windows.ToDictionary(kv => kv.Key, kv => new WindowState { Key = kv.Value.Key, Tokens = kv.Value.Tokens, Usd = kv.Value.Usd }, StringComparer.Ordinal),
            Runs = c.Runs.ToDictionary(kv => kv.Key, kv => new RunState { Tokens = kv.Value.Tokens, Usd = kv.Value.Usd, LastAt = kv.Value.LastAt }, StringComparer.Ordinal),
            AlertsFired = new(c.AlertsFired, StringComparer.Ordinal),
        };
    }

    public BudgetCounters ToCounters(DateTimeOffset now)
    {
        var runs = Runs.ToDictionary(kv => kv.Key, kv => new RunUsage(kv.Value.Tokens, kv.Value.Usd, kv.Value.LastAt), StringComparer.Ordinal);
        foreach (var (id, tokens) in RunTokens)
        {
            runs.TryAdd(id, new RunUsage(tokens, 0m, now)); // stored before runs had USD: kept, idle from now
        }

        var windows = Windows.ToDictionary(kv => kv.Key, kv => new WindowCount(kv.Value.Key ?? string.Empty, kv.Value.Tokens, kv.Value.Usd), StringComparer.Ordinal);
        // Stored before windows were data: the fixed fields are the only record of these windows.
        windows.TryAdd(BudgetWindows.Lifetime.Name, new WindowCount(string.Empty, LifetimeTokens, LifetimeUsd));
        windows.TryAdd(BudgetWindows.Daily.Name, new WindowCount(DayKey ?? string.Empty, DayTokens, DayUsd));
        windows.TryAdd(BudgetWindows.Monthly.Name, new WindowCount(MonthKey ?? string.Empty, MonthTokens, MonthUsd));
        return new()
        {
            Windows = windows,
            Runs = runs,
            AlertsFired = new(AlertsFired, StringComparer.Ordinal),
        };
    }
}
