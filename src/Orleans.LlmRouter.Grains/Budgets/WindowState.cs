namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Serializable usage of one budget window.</summary>
[GenerateSerializer, Alias("llmrouter.WindowState")]
internal sealed class WindowState
{
    [Id(0)] public string Key { get; set; } = string.Empty;

    [Id(1)] public long Tokens { get; set; }

    [Id(2)] public decimal Usd { get; set; }
}
