using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orleans.LlmRouter.Grains.Telemetry;

namespace Orleans.LlmRouter.Host.Mcp;

/// <summary>
/// Tool calls through <c>/mcp</c> in the gateway's own source and meter (<see cref="LlmRouterTelemetry.Name"/>): an
/// <c>execute_tool</c> span per call (GenAI conventions), <c>llmrouter.mcp.tool_calls</c> (server, tool, outcome) and
/// <c>llmrouter.mcp.tool_call.duration</c> (seconds).
/// </summary>
internal static class McpTelemetry
{
    public static readonly ActivitySource Source = new(LlmRouterTelemetry.Name);

    private static readonly Meter Meter = new(LlmRouterTelemetry.Name);
    private static readonly Counter<long> Calls = Meter.CreateCounter<long>("llmrouter.mcp.tool_calls", "{call}", "MCP tool calls forwarded through /mcp, by server, tool and outcome.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("llmrouter.mcp.tool_call.duration", "s", "Duration of MCP tool calls forwarded through /mcp.");

    public static void Record(string server, string tool, string outcome, double latencyMs)
    {
        var tags = new TagList { { "llmrouter.mcp.server", server }, { "gen_ai.tool.name", tool }, { "llmrouter.outcome", outcome } };
        Calls.Add(1, tags);
        Duration.Record(latencyMs / 1000, tags);
    }
}
