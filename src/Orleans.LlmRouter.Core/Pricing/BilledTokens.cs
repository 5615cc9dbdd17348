namespace Orleans.LlmRouter.Core.Pricing;

/// <summary>
/// The token counts a call is priced by. <see cref="Prompt"/> is the whole prompt (cache reads and writes included);
/// <see cref="Cached"/> (read from the prompt cache) and <see cref="CacheWrite"/> (written to it, all TTLs, of which
/// <see cref="CacheWrite1h"/> with a one-hour TTL) are subsets of it. <see cref="Reasoning"/> is a subset of
/// <see cref="Completion"/>.
/// </summary>
internal readonly record struct BilledTokens(long Prompt, long Completion, long Cached = 0, long CacheWrite = 0, long CacheWrite1h = 0, long Reasoning = 0);
