namespace Orleans.LlmRouter.Core.Catalog;

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
        ["documents"] = Capability.Documents,
    };

    /// <summary>All valid names, for error messages.</summary>
    public static IEnumerable<string> All => ByName.Keys;

    /// <summary>Looks up a YAML name (exact, case-sensitive); false when the name is unknown.</summary>
    public static bool TryParse(string name, out Capability capability) => ByName.TryGetValue(name, out capability);

    /// <summary>The YAML name of a capability (e.g. <c>structured_output</c>).</summary>
    public static string ToName(this Capability capability) => ByName.First(kv => kv.Value == capability).Key;
}
