namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>A kind of work with required capabilities and named strategy chains (<c>default</c> mandatory).</summary>
internal sealed record ActionDefinition(
    string Name,
    string? Description,
    IReadOnlySet<Capability> Requires,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Strategies,
    SourceLocation Location)
{
    public const string DefaultStrategy = "default";

    /// <summary>The action's response-cache settings (YAML <c>cache:</c>); null when it set none.</summary>
    public CacheSettings? Cache { get; init; }
}
