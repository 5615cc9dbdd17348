namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Provider types the router knows how to call.</summary>
internal static class ProviderTypes
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";
    public const string Ollama = "ollama";
    public const string Simulated = "simulated";
}
