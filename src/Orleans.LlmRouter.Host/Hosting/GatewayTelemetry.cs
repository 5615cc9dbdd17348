using System.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.LlmRouter.Grains.Telemetry;
using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// OpenTelemetry for the gateway: traces of the router (<see cref="LlmRouterTelemetry.Name"/>), Orleans
/// (<c>Microsoft.Orleans.*</c>, carried across silos by activity propagation), ASP.NET Core (an incoming W3C
/// <c>traceparent</c> is honoured) and HttpClient (the upstream call carries the trace on); metrics of the router, the
/// ledger, Orleans, ASP.NET Core and HttpClient. OTLP export only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set;
/// Prometheus <c>/metrics</c> per <see cref="MetricsEndpointOptions"/>. Logs carry trace and span ids and the request
/// id, which every response returns in <c>X-Request-Id</c>. W3C trace context is carried to the upstream whether or not
/// an exporter is configured (<see cref="TelemetryOptions.TraceContext"/>); every response returns the trace id in
/// <c>traceresponse</c>. Sampling, with an exporter, is the SDK's: <c>OTEL_TRACES_SAMPLER</c> (default
/// <c>parentbased_always_on</c>, which follows the caller's sampled flag).
/// </summary>
internal static class GatewayTelemetry
{
    /// <summary>The response header with the request id (the ledger row's, the logs' and the router span's).</summary>
    public const string RequestIdHeader = "X-Request-Id";

    /// <summary>
    /// The response header with the request's W3C trace context (<c>00-{trace id}-{span id}-{flags}</c>, W3C Trace
    /// Context Level 2): the caller's trace id, or the new one the gateway started for a request without <c>traceparent</c>.
    /// </summary>
    public const string TraceResponseHeader = "traceresponse";

    private const string RequestIdItem = "llmrouter.request_id";

    /// <summary>Adds OpenTelemetry (and the <c>LlmRouter:Telemetry</c>, <c>LlmRouter:Metrics</c> settings) to the builder.</summary>
    public static void Add(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var config = builder.Configuration;
        builder.Services.AddOptions<TelemetryOptions>().Bind(config.GetSection(TelemetryOptions.SectionName));
        var enabled = config.GetSection(TelemetryOptions.SectionName).GetValue(nameof(TelemetryOptions.Enabled), true);
        var metrics = MetricsEndpointOptions.Read(config) is var read && enabled ? read : read with { Enabled = false };
        builder.Services.AddSingleton(metrics);
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        var otlp = !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!enabled)
        {
            return; // no OpenTelemetry at all: no listener, so the router builds no span and records no metric
        }

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(config["OTEL_SERVICE_NAME"] ?? "orleans-llmrouter"));
        if (otlp)
        {
            // Spans are sampled only when there is somewhere to send them: without an exporter the SDK's listener would
            // build every span (router, Orleans grain calls, HTTP) for nothing. Logs carry trace ids either way.
            otel.WithTracing(t => t.AddSource(LlmRouterTelemetry.Name, "Microsoft.Orleans.*")
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments(metrics.Path))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        if (metrics.Enabled || otlp)
        {
            otel.WithMetrics(m =>
            {
                m.AddMeter(LlmRouterTelemetry.Name, "Microsoft.Orleans")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (metrics.Enabled)
                {
                    m.AddPrometheusExporter();
                }

                if (otlp)
                {
                    m.AddOtlpExporter();
                }
            });
        }
    }

    /// <summary>
    /// Gives every request its id (<see cref="RequestIdHeader"/> on the response, a log scope <c>RequestId</c>, the
    /// <c>llmrouter.request_id</c> attribute of the HTTP span) and maps <c>/metrics</c>.
    /// </summary>
    public static void Use(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orleans.LlmRouter.Http");
        var traceContext = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.TraceContext;
        app.Use(async (http, next) =>
        {
            var id = RequestId(http);
            http.Response.Headers[RequestIdHeader] = id;
            // ASP.NET Core starts the request's activity (continuing an incoming traceparent) whenever its hosting logger
            // or a listener is on; when neither is (its logging off), a propagation-only one takes its place.
            using var own = traceContext && Activity.Current is null ? TraceContext.Start(http.Request.Headers, FromHeaders, rootWhenMissing: true) : null;
            if (traceContext && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
            {
                http.Response.Headers[TraceResponseHeader] = TraceResponse(current);
            }

            Activity.Current?.SetTag("llmrouter.request_id", id);
            using (logger.BeginScope(new RequestScope(id)))
            {
                await next(http);
            }
        });

        var metrics = app.Services.GetRequiredService<MetricsEndpointOptions>();
        if (!metrics.Enabled)
        {
            return;
        }

        var endpoint = app.MapPrometheusScrapingEndpoint(metrics.Path);
        if (metrics.Port is { } port)
        {
            endpoint.RequireHost($"*:{port}");
        }

        if (metrics.Access == MetricsAccess.Admin)
        {
            endpoint.AddEndpointFilter(async (context, next) =>
            {
                var admin = context.HttpContext.RequestServices.GetRequiredService<AdminKey>();
                return admin.Matches(AdminKey.Bearer(context.HttpContext))
                    ? await next(context)
                    : TypedResults.Problem("A valid admin key is required for /metrics: 'Authorization: Bearer <admin key>' (or LlmRouter:Metrics:Access=network).", statusCode: StatusCodes.Status401Unauthorized);
            });
        }
    }

    /// <summary>The request id of <paramref name="http"/>: generated once per request (never taken from the caller: it is the ledger's idempotency key).</summary>
    public static string RequestId(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Items.TryGetValue(RequestIdItem, out var existing) && existing is string id)
        {
            return id;
        }

        id = Guid.NewGuid().ToString("N");
        http.Items[RequestIdItem] = id;
        return id;
    }

    /// <summary>The <c>traceresponse</c> value of <paramref name="activity"/>: version, trace id, span id, flags.</summary>
    public static string TraceResponse(Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var sampled = (activity.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0;
        return string.Concat("00-", activity.TraceId.ToHexString(), "-", activity.SpanId.ToHexString(), sampled ? "-01" : "-00");
    }

    private static void FromHeaders(object? carrier, string name, out string? value, out IEnumerable<string>? values)
    {
        values = null;
        value = carrier is IHeaderDictionary headers && headers.TryGetValue(name, out var v) && v.Count > 0 ? v.ToString() : null;
    }

    /// <summary>A log scope of one key, <c>RequestId</c>.</summary>
    private sealed class RequestScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] => index == 0 ? new("RequestId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "RequestId:" + id;
    }
}
