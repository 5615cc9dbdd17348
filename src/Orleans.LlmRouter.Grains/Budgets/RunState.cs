namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Serializable usage of one run.</summary>
[GenerateSerializer, Alias("llmrouter.RunState")]
internal sealed class RunState
{
    [Id(0)] public long Tokens { get; set; }

    [Id(1)] public decimal Usd { get; set; }

    [Id(2)] public DateTimeOffset LastAt { get; set; }
}
