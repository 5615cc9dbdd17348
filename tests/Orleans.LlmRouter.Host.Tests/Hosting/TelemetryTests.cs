using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Telemetry;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>
/// Telemetry collection: runs alone (activity listeners and meters are process-wide, so metric sums must not see other
/// collections' calls), over one gateway with the mock upstream.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "telemetry";
}

[Collection(TelemetryCollection.Name)]
public sealed partial class TelemetryTests(GatewayFixture gateway)
{
    private const string AdminKey = "sk-llmrouter-admin-dev";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_call_that_retries_then_falls_back_is_one_trace_with_a_span_per_attempt_under_the_callers_traceparent()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(LlmRouterTelemetry.Name, "Microsoft.Orleans.*", "Microsoft.AspNetCore", "System.Net.Http")
            .AddInMemoryExporter(spans)
            .Build();
        var trace = ActivityTraceId.CreateRandom();
        var caller = ActivitySpanId.CreateRandom();
        var secret = $"PROMPT-TEXT-{Guid.NewGuid():N}";

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json(new { model = "action:mock_chain", messages = new[] { new { role = "user", content = $"[mock:server] {secret}" } } }),
        };
        request.Headers.Add("traceparent", $"00-{trace}-{caller}-01");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFixture.DevKey);

        // A caller whose own HttpClient does not replace the traceparent header with one of the test process's traces.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = gateway.BaseAddress };
        using var response = await client.SendAsync(request, Cancel);
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        tracing.ForceFlush();

        var mine = spans.Where(s => s.TraceId == trace).ToList();
        // The incoming traceparent is honoured: the gateway's HTTP server span is the caller's child (the mock
        // upstream's server spans are in the trace too, further down).
        var server = Assert.Single(mine, s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore" && s.ParentSpanId == caller);
        Assert.Equal(requestId, server.GetTagItem("llmrouter.request_id"));

        var route = Assert.Single(mine, s => s.OperationName == "llmrouter.route chat");
        Assert.True(IsDescendant(route, server, mine), "the router span is under the HTTP server span");
        Assert.Equal("dev", route.GetTagItem("llmrouter.tenant"));
        Assert.Equal(requestId, route.GetTagItem("llmrouter.request_id"));
        Assert.Equal("mock_chain", route.GetTagItem("llmrouter.action"));
        Assert.Equal("sim-small-1", route.GetTagItem("gen_ai.response.model"));

        var attempts = mine.Where(s => s.Source.Name == LlmRouterTelemetry.Name && s.OperationName.StartsWith("chat ", StringComparison.Ordinal))
            .OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["chat mock-small", "chat mock-small", "chat sim-small-1"], attempts.Select(a => a.OperationName));
        Assert.All(attempts, a => Assert.Equal(route.SpanId, a.ParentSpanId));
        Assert.All(attempts, a => Assert.Equal("chat", a.GetTagItem("gen_ai.operation.name")));
        Assert.Equal([1, 2, 3], attempts.Select(a => (int)a.GetTagItem("llmrouter.attempt")!));

        var (first, retry, fallback) = (attempts[0], attempts[1], attempts[2]);
        Assert.Equal("openai", first.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("mock-small", first.GetTagItem("gen_ai.request.model"));
        var errorType = Assert.IsType<string>(first.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, first.Status);
        Assert.Equal(errorType, retry.GetTagItem("error.type"));
        Assert.Null(retry.GetTagItem("llmrouter.fallback_reason")); // a retry of the same model, not a fallback

        Assert.Equal("simulated", fallback.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(errorType, fallback.GetTagItem("llmrouter.fallback_reason"));
        Assert.Null(fallback.GetTagItem("error.type"));
        Assert.True((long)fallback.GetTagItem("gen_ai.usage.input_tokens")! > 0);
        Assert.True((long)fallback.GetTagItem("gen_ai.usage.output_tokens")! > 0);

        // The upstream HTTP calls are children of their attempts and carry the trace on (W3C traceparent).
        var upstream = mine.Where(s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http").ToList();
        Assert.Equal(2, upstream.Count(u => u.ParentSpanId == first.SpanId || u.ParentSpanId == retry.SpanId));
        var sent = gateway.Mock.Requests.Where(r => r.Body.Contains(secret, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, r => Assert.StartsWith($"00-{trace}-", r.Headers["traceparent"], StringComparison.Ordinal));

        Assert.Contains(mine, s => s.OperationName == "llmrouter.budget.reserve" && IsDescendant(s, route, mine));
        Assert.Contains(mine, s => s.OperationName == "llmrouter.budget.settle" && s.ParentSpanId == route.SpanId);

        // No prompt, completion or key in any span attribute of the trace, nor in any log line.
        var forbidden = new[] { secret, MockBackedConfig.Key, GatewayFixture.DevKey, AdminKey };
        foreach (var span in mine)
        {
            foreach (var tag in span.TagObjects)
            {
                var value = tag.Value is Array a ? string.Join(",", a.Cast<object>()) : Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "";
                Assert.All(forbidden, f => Assert.DoesNotContain(f, value, StringComparison.Ordinal));
            }
        }

        Assert.All(gateway.Logs.Lines, l => Assert.All(forbidden, f => Assert.DoesNotContain(f, l, StringComparison.Ordinal)));
        Assert.Contains(secret, body, StringComparison.Ordinal); // the simulated model echoes it: the check above means something

        // Log lines carry the trace id: the router's (the failed attempts' warnings) and the HTTP pipeline's, which also
        // carry the request id of X-Request-Id.
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("Attempt on model mock-gpt", StringComparison.Ordinal) && l.Contains($"TraceId={trace}", StringComparison.Ordinal));
        Assert.Contains(gateway.Logs.Lines, l => l.Contains($"RequestId={requestId}", StringComparison.Ordinal) && l.Contains($"TraceId={trace}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prompt_and_completion_text_go_on_the_router_span_only_with_the_explicit_opt_in()
    {
        var spans = new List<Activity>();
        // Only the router's spans are listened to: the HTTP request's activity (the router span's parent, since trace context
        // is carried into the grain) is not recorded, so a parent-based sampler would drop the router span; record it always.
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(LlmRouterTelemetry.Name).SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(spans).Build();
        var config = MockBackedConfig.Create(gateway.Mock.BaseAddress);
        var app = Orleans.LlmRouter.Host.Hosting.GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={config}",
            $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}",
            $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}",
            $"--LlmRouter:ClusterId=content-{Guid.NewGuid():N}",
            "--LlmRouter:Telemetry:RecordContent=true",
            "--Logging:LogLevel:Default=Warning",
        ]);
        try
        {
            await app.StartAsync(Cancel);
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFixture.DevKey);
            var prompt = $"OPT-IN-PROMPT-{Guid.NewGuid():N}";
            using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = "sim-small", messages = new[] { new { role = "user", content = prompt } } }), Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var requestId = response.Headers.GetValues("X-Request-Id").Single();
            tracing.ForceFlush();
            var route = Assert.Single(spans, s => s.OperationName == "llmrouter.route chat" && (string?)s.GetTagItem("llmrouter.request_id") == requestId);
            Assert.Contains(prompt, (string)route.GetTagItem("gen_ai.input.messages")!, StringComparison.Ordinal);
            Assert.Contains(prompt, (string)route.GetTagItem("gen_ai.output.messages")!, StringComparison.Ordinal); // sim echoes

            // The shared gateway (no opt-in) records neither.
            using var plain = await gateway.Client.PostAsync("/v1/chat/completions", Json(new { model = "sim-small", messages = new[] { new { role = "user", content = prompt } } }), Cancel);
            var plainId = plain.Headers.GetValues("X-Request-Id").Single();
            tracing.ForceFlush();
            var other = Assert.Single(spans, s => s.OperationName == "llmrouter.route chat" && (string?)s.GetTagItem("llmrouter.request_id") == plainId);
            Assert.Null(other.GetTagItem("gen_ai.input.messages"));
            Assert.Null(other.GetTagItem("gen_ai.output.messages"));
        }
        finally
        {
            await app.StopAsync(Cancel);
            await app.DisposeAsync();
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public async Task Token_and_cost_metrics_equal_the_ledger_after_a_known_set_of_calls()
    {
        var exported = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(LlmRouterTelemetry.Name).AddInMemoryExporter(exported).Build();
        var ids = new List<string>();
        foreach (var content in new[] { "[mock:server] one", "two", "three" })
        {
            using var response = await gateway.Client.PostAsync("/v1/chat/completions", Json(new { model = "action:mock_chain", messages = new[] { new { role = "user", content = $"{content} {Guid.NewGuid():N}" } } }), Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(response.Headers.GetValues("X-Request-Id").Single());
        }

        using (var stream = await gateway.Client.PostAsync("/v1/chat/completions", Json(new { model = "sim-small", stream = true, messages = new[] { new { role = "user", content = "stream it" } } }), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            _ = await stream.Content.ReadAsStringAsync(Cancel);
            ids.Add(stream.Headers.GetValues("X-Request-Id").Single());
        }

        meters.ForceFlush();
        var ledger = gateway.Services.GetRequiredService<ILedger>();
        var rows = new List<LedgerRecord>();
        await foreach (var row in ledger.ReadAfterAsync("dev", long.MinValue, Cancel))
        {
            if (ids.Any(id => row.RequestId == id || row.RequestId.StartsWith(id + "/", StringComparison.Ordinal)))
            {
                rows.Add(row);
            }
        }

        Assert.Equal(4, rows.Count(r => ids.Contains(r.RequestId)));
        Assert.Equal(rows.Sum(r => r.PromptTokens), HistogramSum(exported, "gen_ai.client.token.usage", "gen_ai.token.type", "input"));
        Assert.Equal(rows.Sum(r => r.CompletionTokens), HistogramSum(exported, "gen_ai.client.token.usage", "gen_ai.token.type", "output"));
        var cost = (double)rows.Sum(r => r.CostUsd);
        Assert.True(cost > 0, "mock-gpt is priced");
        Assert.Equal(cost, CounterSum(exported, "llmrouter.cost_usd", "llmrouter.tenant", "dev"), 9);
        Assert.Equal(4, CounterSum(exported, "llmrouter.requests", "llmrouter.outcome", "success"));
        Assert.Equal(1, CounterSum(exported, "llmrouter.retries", null, null));
        Assert.Equal(1, CounterSum(exported, "llmrouter.fallbacks", "llmrouter.fallback_reason", null));
        Assert.Equal(4, HistogramCount(exported, "gen_ai.server.request.duration"));
        Assert.Equal(1, HistogramCount(exported, "gen_ai.server.time_to_first_token"));
        Assert.Equal(4, HistogramCount(exported, "llmrouter.gateway.overhead"));
        Assert.Contains(exported, m => m.Name == "llmrouter.breaker.state");
    }

    [Fact]
    public async Task Budget_remaining_per_tenant_window_and_unit_equals_the_budget_grains_remaining_after_a_call()
    {
        var exported = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(LlmRouterTelemetry.Name).AddInMemoryExporter(exported).Build();
        using (var call = await gateway.Client.PostAsync("/v1/chat/completions", Json(new { model = "mock-gpt", messages = new[] { new { role = "user", content = $"headroom {Guid.NewGuid():N}" } } }), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        meters.ForceFlush();
        var usage = await gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("dev")).GetUsageAsync();
        var limited = usage.Windows.Where(w => w.Key is not null || w.Window == "lifetime").Where(w => w.Window != "run").ToList();
        var checkedWindows = 0;
        foreach (var window in limited)
        {
            if (window.RemainingTokens is { } tokens)
            {
                Assert.Equal(tokens, Gauge(exported, "dev", window.Window, "tokens"));
                checkedWindows++;
            }

            if (window.RemainingUsd is { } usd)
            {
                Assert.Equal((double)usd, Gauge(exported, "dev", window.Window, "usd"), 9);
                checkedWindows++;
            }
        }

        Assert.True(checkedWindows >= 2, "the dev tenant has token and USD limits");
        Assert.True(usage.Windows.Single(w => w.Window == "daily").Tokens > 0, "the call was counted");
    }

    private static double Gauge(List<Metric> metrics, string tenant, string window, string unit)
    {
        var values = Points(metrics, "llmrouter.budget.remaining", "llmrouter.tenant", tenant)
            .Where(p => Has(p, "llmrouter.budget.window", window) && Has(p, "llmrouter.budget.unit", unit))
            .Select(p => p.GetGaugeLastValueDouble())
            .ToList();
        Assert.True(values.Count == 1, $"one llmrouter.budget.remaining point for {tenant}/{window}/{unit}, found {values.Count}");
        return values[0];
    }

    [Fact]
    public async Task Telemetry_off_registers_no_opentelemetry_and_serves_no_metrics_endpoint()
    {
        var config = MockBackedConfig.Create(gateway.Mock.BaseAddress);
        var app = GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={config}",
            $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}",
            $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}",
            $"--LlmRouter:ClusterId=test-{Guid.NewGuid():N}",
            "--LlmRouter:Telemetry:Enabled=false",
            "--Logging:LogLevel:Default=Warning",
        ]);
        try
        {
            await app.StartAsync(Cancel);
            Assert.Null(app.Services.GetService<MeterProvider>());
            Assert.Null(app.Services.GetService<TracerProvider>());
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            using var metrics = await client.GetAsync("/metrics", Cancel);
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFixture.DevKey);
            using var call = await client.PostAsync("/v1/chat/completions", Json(new { model = "mock-gpt", messages = new[] { new { role = "user", content = "no telemetry" } } }), Cancel);
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
            Assert.True(call.Headers.Contains("X-Request-Id"));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public void Without_an_otlp_endpoint_the_gateway_samples_no_spans()
    {
        Assert.Null(gateway.Services.GetService<TracerProvider>());
        Assert.NotNull(gateway.Services.GetService<MeterProvider>());
    }

    [Fact]
    public async Task Metrics_are_scraped_over_http_with_the_admin_key_in_the_prometheus_exposition_format()
    {
        var secret = $"SCRAPE-PROMPT-{Guid.NewGuid():N}";
        using (var call = await gateway.Client.PostAsync("/v1/chat/completions", Json(new { model = "mock-gpt", messages = new[] { new { role = "user", content = secret } } }), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        using (var refused = await anonymous.GetAsync("/metrics", Cancel))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await anonymous.GetAsync("/metrics", Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(Cancel);
        var samples = ParseExposition(text);
        Assert.Contains(samples, s => s.Name == "llmrouter_requests_total" && s.Labels.Contains("llmrouter_outcome=\"success\"", StringComparison.Ordinal) && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "gen_ai_client_token_usage_bucket");
        Assert.Contains(samples, s => s.Name == "gen_ai_client_operation_duration_seconds_count" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "llmrouter_cost_usd_total" && s.Value > 0);
        Assert.Contains(samples, s => s.Name == "llmrouter_breaker_state");
        Assert.Contains(samples, s => s.Name == "llmrouter_budget_remaining" && s.Labels.Contains("llmrouter_tenant=\"dev\"", StringComparison.Ordinal));
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(MockBackedConfig.Key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(GatewayFixture.DevKey, text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_grafana_dashboard_queries_only_metrics_the_gateway_exports()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "grafana", "llmrouter.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var exprs = new List<string>();
        Collect(doc.RootElement, exprs);
        Assert.NotEmpty(exprs);

        var exported = LlmRouterTelemetry.Metrics.Select(m => m.Replace('.', '_')).ToHashSet(StringComparer.Ordinal);
        var names = exprs.Select(e => Grouping().Replace(e, "")).Select(e => Selector().Replace(e, "")).SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var family = Suffix().Replace(name, "");
            family = family.EndsWith("_seconds", StringComparison.Ordinal) ? family[..^"_seconds".Length] : family;
            Assert.True(exported.Contains(family), $"the dashboard queries '{name}', which the gateway does not export");
        }

        // Every panel group the issue asks for is there.
        var all = string.Join("\n", exprs);
        foreach (var needed in new[] { "llmrouter_cost_usd_total", "gen_ai_client_token_usage", "gen_ai_server_request_duration_seconds_bucket", "gen_ai_server_time_to_first_token_seconds_bucket", "llmrouter_requests_total", "llmrouter_breaker_state", "llmrouter_budget_rejections_total", "llmrouter_ledger_spool_depth" })
        {
            Assert.Contains(needed, all, StringComparison.Ordinal);
        }
    }

    private static void Collect(JsonElement element, List<string> exprs)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String)
                    {
                        exprs.Add(p.Value.GetString()!);
                    }
                    else
                    {
                        Collect(p.Value, exprs);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var e in element.EnumerateArray())
                {
                    Collect(e, exprs);
                }

                break;
        }
    }

    [GeneratedRegex(@"\b(?:llmrouter|gen_ai)_[a-z_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(?:by|without)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"_(?:bucket|sum|count|total)$")]
    private static partial Regex Suffix();

    private sealed record Sample(string Name, string Labels, double Value);

    /// <summary>Parses the Prometheus text exposition format: <c># HELP</c>/<c># TYPE</c> comments and <c>name{labels} value [timestamp]</c> samples.</summary>
    private static List<Sample> ParseExposition(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                Assert.True(line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || line.StartsWith("# EOF", StringComparison.Ordinal), line);
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var close = line.LastIndexOf('}');
            var name = brace >= 0 ? line[..brace] : line[..line.IndexOf(' ', StringComparison.Ordinal)];
            var labels = brace >= 0 ? line[(brace + 1)..close] : "";
            var rest = (brace >= 0 ? line[(close + 1)..] : line[name.Length..]).Trim().Split(' ');
            var value = rest[0] switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN, var v => double.Parse(v, CultureInfo.InvariantCulture) };
            Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", name);
            samples.Add(new Sample(name, labels, value));
        }

        Assert.NotEmpty(samples);
        return samples;
    }

    private static IEnumerable<MetricPoint> Points(List<Metric> metrics, string name, string? tag, string? value)
    {
        // The in-memory exporter keeps each export; cumulative temporality: the last export has the totals.
        var metric = metrics.LastOrDefault(m => m.Name == name);
        if (metric is null)
        {
            yield break;
        }

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            if (tag is null || Has(point, tag, value))
            {
                yield return point;
            }
        }
    }

    private static bool Has(MetricPoint point, string tag, string? value)
    {
        foreach (var t in point.Tags)
        {
            if (t.Key == tag && (value is null || Equals(t.Value, value)))
            {
                return true;
            }
        }

        return false;
    }

    private static double HistogramSum(List<Metric> metrics, string name, string tag, string value) =>
        Points(metrics, name, tag, value).Sum(p => p.GetHistogramSum());

    private static long HistogramCount(List<Metric> metrics, string name) =>
        Points(metrics, name, null, null).Sum(p => p.GetHistogramCount());

    private static double CounterSum(List<Metric> metrics, string name, string? tag, string? value) =>
        Points(metrics, name, tag, value).Sum(p => metrics.Last(m => m.Name == name).MetricType == MetricType.DoubleSum ? p.GetSumDouble() : p.GetSumLong());

    private static bool IsDescendant(Activity span, Activity ancestor, List<Activity> all)
    {
        var byId = all.ToDictionary(s => s.SpanId);
        var current = span;
        while (byId.TryGetValue(current.ParentSpanId, out var parent))
        {
            if (parent.SpanId == ancestor.SpanId)
            {
                return true;
            }

            current = parent;
        }

        return false;
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
