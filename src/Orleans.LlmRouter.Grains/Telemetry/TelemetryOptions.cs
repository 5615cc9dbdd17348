namespace Orleans.LlmRouter.Grains.Telemetry;

/// <summary>Telemetry settings (<c>LlmRouter:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmRouter:Telemetry";

    /// <summary>
    /// Distinct tenant ids used as metric labels per process; later tenants are counted under <c>other</c>, so a
    /// platform with many tenants does not explode metric cardinality (spans always carry the real tenant). Default 100.
    /// </summary>
    public int MaxTenantLabels { get; set; } = 100;

    /// <summary>
    /// OpenTelemetry in the gateway host (default true): metrics and <c>/metrics</c>, and traces when an OTLP endpoint is
    /// set. False registers no OpenTelemetry at all (no <c>/metrics</c>); a co-hosting application may still subscribe
    /// to <see cref="LlmRouterTelemetry.Name"/> itself.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Record prompt and completion text on spans (<c>gen_ai.input.messages</c>/<c>gen_ai.output.messages</c>).
    /// Off by default; prompts can hold personal data. Keys are never recorded whatever this says.
    /// </summary>
    public bool RecordContent { get; set; }

    /// <summary>
    /// Carry W3C trace context (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) from every surface and grain caller
    /// to every upstream call, across silos, whether or not an exporter records spans (default true): an HTTP request
    /// without a <c>traceparent</c> starts a new trace, returned in the <c>traceresponse</c> header; the call's log lines
    /// and its ledger row carry the trace id. Without an exporter only the context is carried (no span is recorded).
    /// False restores the behaviour before issue 31 — the context stops at the grain call unless an exporter samples —
    /// and exists to measure what carrying it costs (bench target <c>gateway-trace-off</c>).
    /// </summary>
    public bool TraceContext { get; set; } = true;
}
