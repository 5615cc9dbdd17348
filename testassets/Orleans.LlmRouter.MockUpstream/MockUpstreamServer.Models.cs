using System.Collections.Concurrent;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Per-model behaviour of the OpenAI surface, so one mock can play several deployments of a logical model (each a
/// different <c>model</c> in the request): a scenario that applies to every request for that model (unless the
/// request names its own), and extra latency before the answer (before the first chunk of a stream).
/// </summary>
public sealed partial class MockUpstreamServer
{
    /// <summary>Scenario per requested model id (e.g. <c>server</c>, <c>rate_limit</c>); remove the entry to heal it.</summary>
    public ConcurrentDictionary<string, string> ModelScenarios { get; } = new(StringComparer.Ordinal);

    /// <summary>Extra latency per requested model id, on top of <see cref="Timing"/>.</summary>
    public ConcurrentDictionary<string, TimeSpan> ModelLatency { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests received per model id (counted whether or not requests are recorded).</summary>
    public ConcurrentDictionary<string, int> ModelRequests { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When set, each content piece of an OpenAI-surface stream is replaced by <c>@tTICKS;</c>, the
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp at which the mock wrote it (a machine-wide monotonic clock on
    /// Linux), so a client on the same machine can measure how long each chunk took to reach it (the bench's stream run).
    /// </summary>
    public bool StampChunks { get; set; }

    internal string? ModelScenario(string model)
    {
        ModelRequests.AddOrUpdate(model, 1, static (_, n) => n + 1);
        return ModelScenarios.TryGetValue(model, out var scenario) ? scenario : null;
    }

    internal TimeSpan ModelDelay(string model) => ModelLatency.TryGetValue(model, out var delay) ? delay : TimeSpan.Zero;
}
