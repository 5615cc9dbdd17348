using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Common;

/// <summary>Reading a provider's usage counts: tolerant of absent, null and non-integer fields, and made consistent.</summary>
internal static class UsageCounts
{
    /// <summary>The whole number at <paramref name="name"/> of <paramref name="obj"/>, else <paramref name="fallback"/> (absent, null, not an object).</summary>
    public static long Read(JsonElement obj, string name, long fallback = 0) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 0 ? n : fallback;

    /// <summary>True when <paramref name="obj"/> has a whole number at <paramref name="name"/>.</summary>
    public static bool Has(JsonElement obj, string name) => Read(obj, name, -1) >= 0;

    /// <summary>
    /// A <see cref="TokenUsage"/> that keeps its documented subsets: cache reads within the prompt, cache writes within
    /// the rest of it, their one-hour part within the writes, reasoning within the completion.
    /// </summary>
    public static TokenUsage Consistent(long prompt, long completion, long cached = 0, long reasoning = 0, long cacheWrite = 0, long cacheWrite1h = 0)
    {
        prompt = Math.Max(prompt, 0);
        completion = Math.Max(completion, 0);
        cached = Math.Clamp(cached, 0, prompt);
        cacheWrite = Math.Clamp(cacheWrite, 0, prompt - cached);
        return new TokenUsage(prompt, completion, cached, Math.Clamp(reasoning, 0, completion), cacheWrite, Math.Clamp(cacheWrite1h, 0, cacheWrite));
    }
}
