namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// Budget limits of one budget holder (a tenant today): a map (window name, unit) → limit, the window a name of
/// <see cref="Budgets.BudgetWindows.All"/> or <see cref="Budgets.BudgetWindows.Run"/>. A missing entry means no limit.
/// </summary>
internal sealed record BudgetLimits
{
    private readonly Dictionary<(string Window, Budgets.BudgetUnit Unit), decimal> _limits;

    public BudgetLimits(IEnumerable<KeyValuePair<(string Window, Budgets.BudgetUnit Unit), decimal>> limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = new(limits);
    }

    public static BudgetLimits None { get; } = new([]);

    /// <summary>Every limit.</summary>
    public IReadOnlyDictionary<(string Window, Budgets.BudgetUnit Unit), decimal> Limits => _limits;

    /// <summary>Limits from (window, unit, limit) triples, e.g. <c>Of(("daily", BudgetUnit.Tokens, 1000))</c>.</summary>
    public static BudgetLimits Of(params (string Window, Budgets.BudgetUnit Unit, decimal Limit)[] limits) =>
        new((limits ?? []).Select(l => KeyValuePair.Create((l.Window, l.Unit), l.Limit)));

    /// <summary>The limit of <paramref name="window"/> in <paramref name="unit"/>, or null for none.</summary>
    public decimal? Limit(string window, Budgets.BudgetUnit unit) => _limits.TryGetValue((window, unit), out var l) ? l : null;

    /// <summary>The token limit as a whole number (as reported), or null.</summary>
    public long? TokenLimit(string window) => Limit(window, Budgets.BudgetUnit.Tokens) is { } l ? (long)l : null;

    public bool Equals(BudgetLimits? other) =>
        other is not null && _limits.Count == other._limits.Count && _limits.All(kv => other._limits.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public override int GetHashCode() => _limits.Aggregate(_limits.Count, (h, kv) => h ^ HashCode.Combine(kv.Key, kv.Value));
}
