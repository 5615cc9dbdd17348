namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>What a model can do. YAML names are snake_case (<c>structured_output</c>).</summary>
public enum Capability
{
    Chat,
    Vision,
    StructuredOutput,
    Tools,
    LongContext,
    Embedding,
    Streaming,

    /// <summary>
    /// Takes a reasoning effort or a thinking budget (OpenAI <c>reasoning_effort</c>, Anthropic <c>thinking</c>): the
    /// surfaces' <c>reasoning.effort</c> and <c>thinking</c> reach only such models, and are ignored with a warning header otherwise.
    /// </summary>
    Reasoning,
}

/// <summary>YAML names of <see cref="Capability"/>.</summary>
public static class CapabilityNames
{
    private static readonly Dictionary<string, Capability> ByName = new(StringComparer.Ordinal)
    {
        ["chat"] = Capability.Chat,
        ["vision"] = Capability.Vision,
        ["structured_output"] = Capability.StructuredOutput,
        ["tools"] = Capability.Tools,
        ["long_context"] = Capability.LongContext,
        ["embedding"] = Capability.Embedding,
        ["streaming"] = Capability.Streaming,
        ["reasoning"] = Capability.Reasoning,
    };

    /// <summary>All valid names, for error messages.</summary>
    public static IEnumerable<string> All => ByName.Keys;

    public static bool TryParse(string name, out Capability capability) => ByName.TryGetValue(name, out capability);

    public static string ToName(this Capability capability) => ByName.First(kv => kv.Value == capability).Key;
}
