using System.Globalization;

namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>The budget windows. Adding one is one descriptor here (plus its admin API fields in <c>TenantBudgetLimits</c>).</summary>
internal static class BudgetWindows
{
    /// <summary>The name of per-run limits (<c>run_tokens</c>, <c>run_usd</c>); runs are counted per run id, not by calendar.</summary>
    public const string Run = "run";

    public static BudgetWindowKind Lifetime { get; } = new("lifetime");

    public static BudgetWindowKind Daily { get; } = new(
        "daily", "day",
        t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        k => DateTime.ParseExact(k, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        s => s.AddDays(1));

    /// <summary>The ISO week (Monday 00:00 to Monday 00:00 in the tenant's zone), keyed <c>2026-W48</c>.</summary>
    public static BudgetWindowKind Weekly { get; } = new(
        "weekly", "week",
        t => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(t):D4}-W{ISOWeek.GetWeekOfYear(t):D2}"),
        k => ISOWeek.ToDateTime(int.Parse(k[..4], CultureInfo.InvariantCulture), int.Parse(k[6..], CultureInfo.InvariantCulture), DayOfWeek.Monday),
        s => s.AddDays(7));

    public static BudgetWindowKind Monthly { get; } = new(
        "monthly", "month",
        t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        k => DateTime.ParseExact(k, "yyyy-MM", CultureInfo.InvariantCulture),
        s => s.AddMonths(1));

    /// <summary>Every window, in the order limits are checked and reported.</summary>
    public static IReadOnlyList<BudgetWindowKind> All { get; } = [Lifetime, Daily, Weekly, Monthly];

    /// <summary>The window named <paramref name="name"/>, or null.</summary>
    public static BudgetWindowKind? Find(string name) => All.FirstOrDefault(w => w.Name == name);
}
