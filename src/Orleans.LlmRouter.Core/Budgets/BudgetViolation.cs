namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>A limit that a reservation would break; <see cref="Window"/> is a window name or <c>run</c>.</summary>
internal sealed record BudgetViolation(string Window, BudgetUnit Unit, decimal Used, decimal Reserved, decimal Limit, decimal Requested)
{
    public override string ToString() =>
        $"{Window} {Unit} budget exceeded: used {Used}, in flight {Reserved}, limit {Limit}, this call needs {Requested}";
}
