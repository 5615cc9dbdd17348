using System.Globalization;

namespace Orleans.LlmRouter.Providers.Ollama;

/// <summary>Per-provider request settings from the provider's <c>options</c> (<c>keep_alive</c>, <c>num_ctx</c>).</summary>
internal sealed record OllamaRequestSettings(string? KeepAlive, int? NumCtx)
{
    public static OllamaRequestSettings From(IReadOnlyDictionary<string, string> options) => new(
        options.TryGetValue("keep_alive", out var keepAlive) && !string.IsNullOrWhiteSpace(keepAlive) ? keepAlive : null,
        options.TryGetValue("num_ctx", out var ctx) && int.TryParse(ctx, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null);
}
