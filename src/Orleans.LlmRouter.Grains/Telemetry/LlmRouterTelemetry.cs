namespace Orleans.LlmRouter.Grains.Telemetry;

/// <summary>
/// Names of the gateway's telemetry: one <see cref="System.Diagnostics.ActivitySource"/> and one
/// <see cref="System.Diagnostics.Metrics.Meter"/>, both <see cref="Name"/>, with instrument names that follow the
/// OpenTelemetry GenAI semantic conventions where they exist and live under <c>llmrouter.*</c> otherwise.
/// </summary>
public static class LlmRouterTelemetry
{
    /// <summary>The activity source and meter name; subscribe to it (OpenTelemetry <c>AddSource</c>/<c>AddMeter</c>).</summary>
    public const string Name = "Orleans.LlmRouter";

    /// <summary>Every metric the gateway itself exports, as OpenTelemetry names them (the Prometheus names replace dots by underscores and add units and suffixes).</summary>
    public static IReadOnlyList<string> Metrics { get; } =
    [
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "gen_ai.server.request.duration",
        "gen_ai.server.time_to_first_token",
        "llmrouter.cost_usd",
        "llmrouter.requests",
        "llmrouter.retries",
        "llmrouter.fallbacks",
        "llmrouter.budget.rejections",
        "llmrouter.budget.remaining",
        "llmrouter.rate_limit.rejections",
        "llmrouter.gateway.overhead",
        "llmrouter.breaker.state",
        "llmrouter.provider.in_flight",
        "llmrouter.provider.lease_headroom",
        "llmrouter.ledger.commit.duration",
        "llmrouter.ledger.commit.batch_size",
        "llmrouter.ledger.spool.depth",
        "llmrouter.ledger.quarantined",
    ];
}
