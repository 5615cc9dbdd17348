namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Provider types the router knows how to call.</summary>
internal static class ProviderTypes
{
    public const string OpenAi = "openai";
    public const string AzureOpenAi = "azure_openai";
    public const string Anthropic = "anthropic";
    public const string Bedrock = "bedrock";
    public const string Gemini = "gemini";
    public const string Ollama = "ollama";
    public const string Simulated = "simulated";

    /// <summary>
    /// Built-in types whose adapter does not pass PDF documents on, so their models may not declare
    /// <see cref="Capability.Documents"/> (the catalog loader refuses it). The adapters that do: <c>anthropic</c>
    /// (document blocks), <c>openai</c> (base64 PDFs as <c>file</c> parts) and <c>simulated</c> (answers without reading them).
    /// A type registered by a host decides for itself.
    /// </summary>
    public static readonly IReadOnlySet<string> WithoutDocuments = new HashSet<string>(StringComparer.Ordinal) { AzureOpenAi, Bedrock, Gemini, Ollama };
}
