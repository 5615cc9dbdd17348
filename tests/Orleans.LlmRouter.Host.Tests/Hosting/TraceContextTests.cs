using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Telemetry;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>
/// Trace context collection: runs alone, since an exporter's activity listener is process-wide (a gateway with one
/// would sample the calls of every other gateway in the process, and "no exporter" would mean nothing).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TraceContextCollection
{
    public const string Name = "trace-context";
}

/// <summary>
/// W3C trace context end to end (issue 31): a caller's <c>traceparent</c> (with <c>tracestate</c> and <c>baggage</c>)
/// reaches the upstream from every surface, across the grain call and across processes, with no exporter configured
/// and with one; a call without one gets a new trace id, returned in <c>traceresponse</c>, written in the call's log
/// lines and stored in its ledger row.
/// </summary>
[Collection(TraceContextCollection.Name)]
public sealed class TraceContextTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const string AdminKey = "sk-llmrouter-admin-dev";
    private const string TraceState = "llmrouter-test=t61rcWkgMzE";
    private const string Baggage = "tenant.app=billing,user.tier=gold";

    [Fact]
    public async Task Embedded_without_an_exporter_the_upstream_gets_the_callers_trace_id()
    {
        await using var shape = await TraceShape.StartAsync(frontEnd: false, exporter: false);
        Assert.False(RouterTelemetry.Source.HasListeners(), "nothing samples: no exporter, no listener");
        var (trace, marker) = (NewTrace(), NewMarker());
        using var response = await SendAsync(shape, "/v1/chat/completions", $$"""{"model":"mock-gpt","messages":[{"role":"user","content":"{{marker}}"}]}""", Parent(trace, sampled: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var sent = Sent(shape, marker);
        Assert.True(sent.Headers.TryGetValue("traceparent", out var traceparent), "the upstream got no traceparent");
        Assert.StartsWith($"00-{trace}-", traceparent, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every surface (chat, stream, embeddings, Messages, Responses) and a fallback's second attempt carry the caller's
    /// trace id, its sampled flag, its tracestate and its baggage to the upstream; the response's traceresponse names
    /// the caller's trace. In both hosting shapes, with and without an exporter.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Every_surface_and_a_fallback_carry_the_callers_trace_context_to_the_upstream(bool frontEnd, bool exporter)
    {
        await using var shape = await TraceShape.StartAsync(frontEnd, exporter);
        Assert.Equal(exporter, RouterTelemetry.Source.HasListeners());

        (string Path, string Body, bool Sampled)[] calls =
        [
            ("/v1/chat/completions", """{"model":"mock-gpt","messages":[{"role":"user","content":"MARK"}]}""", true),
            ("/v1/chat/completions", """{"model":"mock-gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"MARK"}]}""", false),
            ("/v1/embeddings", """{"model":"mock-embed","input":"MARK"}""", true),
            ("/v1/messages", """{"model":"mock-gpt","max_tokens":64,"messages":[{"role":"user","content":"MARK"}]}""", false),
            ("/v1/messages", """{"model":"mock-gpt","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"MARK"}]}""", true),
            ("/v1/responses", """{"model":"mock-gpt","input":"MARK"}""", true),
            ("/v1/responses", """{"model":"mock-gpt","stream":true,"input":"MARK"}""", false),
        ];
        foreach (var (path, template, sampled) in calls)
        {
            var (trace, marker) = (NewTrace(), NewMarker());
            using var response = await SendAsync(shape, path, template.Replace("MARK", marker, StringComparison.Ordinal), Parent(trace, sampled), TraceState, Baggage);
            var body = await response.Content.ReadAsStringAsync(Cancel);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
            Assert.StartsWith($"00-{trace}-", Header(response, "traceresponse"), StringComparison.Ordinal);

            var sent = Sent(shape, marker);
            AssertCarried(sent, trace, sampled, path);
            Assert.Equal(TraceState, sent.Headers.GetValueOrDefault("tracestate"));
            // W3C baggage allows spaces around '=' (.NET's propagator writes them).
            var baggage = (sent.Headers.GetValueOrDefault("baggage") ?? "").Replace(" ", "", StringComparison.Ordinal);
            Assert.True(baggage.Contains("tenant.app=billing", StringComparison.Ordinal) && baggage.Contains("user.tier=gold", StringComparison.Ordinal), $"{path}: baggage '{baggage}'");
        }

        // A fallback: the first model's 404 moves the call to the next model of the chain, on the same mock.
        var (fallbackTrace, fallbackMarker) = (NewTrace(), NewMarker());
        using (var failed = await SendAsync(shape, "/v1/chat/completions", $$"""{"model":"action:mock_fail_chain","messages":[{"role":"user","content":"[mock:not_found] {{fallbackMarker}}"}]}""", Parent(fallbackTrace, true)))
        {
            Assert.False(failed.IsSuccessStatusCode); // both models of the chain answer 404 here
            Assert.StartsWith($"00-{fallbackTrace}-", Header(failed, "traceresponse"), StringComparison.Ordinal);
        }

        var attempts = shape.Mock.Requests.Where(r => r.Body.Contains(fallbackMarker, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => AssertCarried(a, fallbackTrace, true, "fallback"));

        if (exporter)
        {
            await shape.StopGatewayAsync(); // flushes the exporter
            Assert.True(shape.Exported > 0, "the exporter sent nothing: the test did not run with one");
        }
    }

    /// <summary>
    /// A call without traceparent gets a new trace: its id is in the traceresponse header, reaches the upstream (also on
    /// the fallback), is in the log lines of the call (the HTTP pipeline's and the router's, on the silo) and in the
    /// call's ledger row (and the usage CSV). In both hosting shapes, with and without an exporter.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task A_call_without_traceparent_gets_a_new_trace_id_in_the_response_the_upstream_the_logs_and_the_ledger(bool frontEnd, bool exporter)
    {
        await using var shape = await TraceShape.StartAsync(frontEnd, exporter);
        Assert.Equal(exporter, RouterTelemetry.Source.HasListeners());
        var marker = NewMarker();

        // mock-gpt answers 404 (logged by the router), the chain falls back to sim-small, which answers.
        using var response = await SendAsync(shape, "/v1/chat/completions", $$"""{"model":"action:mock_chain","messages":[{"role":"user","content":"[mock:not_found] {{marker}}"}]}""", traceparent: null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var traceresponse = Header(response, "traceresponse");
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", traceresponse);
        var trace = traceresponse[3..35];
        Assert.NotEqual(new string('0', 32), trace);
        var requestId = Header(response, "X-Request-Id");
        Assert.NotEqual(trace, requestId); // the request id stays the ledger's idempotency key

        AssertCarried(Sent(shape, marker), trace, sampled: exporter, "new trace"); // sampled (parentbased_always_on) only with an exporter

        Assert.Contains(shape.SiloLogs.Lines, l => l.Contains("Attempt on model mock-gpt", StringComparison.Ordinal) && l.Contains($"TraceId={trace}", StringComparison.Ordinal));
        Assert.Contains(shape.HttpLogs.Lines, l => l.Contains($"RequestId={requestId}", StringComparison.Ordinal) && l.Contains($"TraceId={trace}", StringComparison.Ordinal));

        var row = Assert.Single(await shape.LedgerAsync(), r => r.RequestId == requestId);
        Assert.Equal(trace, row.TraceId);
        Assert.Equal("sim-small", row.Model);

        if (!frontEnd)
        {
            using var admin = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/dev/usage?format=csv");
            admin.Headers.Authorization = new("Bearer", AdminKey);
            using var csv = await shape.Client.SendAsync(admin, Cancel);
            var lines = (await csv.Content.ReadAsStringAsync(Cancel)).Split('\n');
            Assert.Contains(",trace_id,kind,", lines[0], StringComparison.Ordinal);
            Assert.Contains("," + trace + ",model_call,", Assert.Single(lines, l => l.StartsWith(requestId + ",", StringComparison.Ordinal)), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A co-hosted application calling the router grain from the silo (the grain API) carries its current activity's
    /// trace to the upstream, on a completion and a stream, and the ledger row stores it; with and without an exporter.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_grain_api_call_carries_the_callers_activity_to_the_upstream_and_the_ledger(bool exporter)
    {
        await using var shape = await TraceShape.StartAsync(frontEnd: false, exporter);
        Assert.Equal(exporter, RouterTelemetry.Source.HasListeners());
        var router = shape.SiloServices.GetRequiredService<IGrainFactory>().GetRouter();

        foreach (var stream in new[] { false, true })
        {
            var (trace, marker) = (NewTrace(), NewMarker());
            var context = new RouterContext("dev") { Model = "mock-gpt" };
            var request = new ChatRequest([RouterMessage.FromText("user", marker)]);
            using (new Activity("co-hosted app").SetParentId(Parent(trace, sampled: true)).Start())
            {
                if (stream)
                {
                    await foreach (var _ in router.StreamAsync(request, context, Cancel))
                    {
                    }
                }
                else
                {
                    await router.CompleteAsync(request, context, Cancel);
                }
            }

            AssertCarried(Sent(shape, marker), trace, sampled: true, stream ? "grain API stream" : "grain API");
            Assert.Equal(trace, Assert.Single(await shape.LedgerAsync(), r => r.RequestId == context.RequestId).TraceId);
        }
    }

    [Fact]
    public async Task An_apps_own_orleans_client_carries_its_activity_to_the_upstream_and_the_ledger_without_an_exporter()
    {
        await using var shape = await TraceShape.StartAsync(frontEnd: false, exporter: false);
        var app = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        app.Logging.ClearProviders();
        app.UseOrleansClient(client => client.UseLocalhostClustering(shape.GatewayPort, "llmrouter", shape.ClusterId));
        app.Services.AddLlmRouterChatClient(o => o.DefaultTenantId = "dev");
        using var host = app.Build();
        await host.StartAsync(Cancel);
        try
        {
            var chat = host.Services.GetRequiredService<Microsoft.Extensions.AI.IChatClient>();
            var (trace, marker) = (NewTrace(), NewMarker());
            using (new Activity("app with its own client").SetParentId(Parent(trace, sampled: true)).Start())
            {
                await chat.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, marker)], new Microsoft.Extensions.AI.ChatOptions { ModelId = "mock-gpt" }, Cancel);
            }

            AssertCarried(Sent(shape, marker), trace, sampled: true, "IChatClient over an app's Orleans client");
            Assert.Contains(await shape.LedgerAsync(), r => r.TraceId == trace);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(TraceShape shape, string path, string body, string? traceparent, string? tracestate = null, string? baggage = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = SurfaceHttp.Json(body) };
        if (traceparent is not null)
        {
            request.Headers.Add("traceparent", traceparent);
        }

        if (tracestate is not null)
        {
            request.Headers.Add("tracestate", tracestate);
        }

        if (baggage is not null)
        {
            request.Headers.Add("baggage", baggage);
        }

        var response = await shape.Client.SendAsync(request, Cancel);
        await response.Content.LoadIntoBufferAsync(Cancel); // a stream's body read to its end
        return response;
    }

    private static void AssertCarried(MockRequest sent, string trace, bool sampled, string what)
    {
        Assert.True(sent.Headers.TryGetValue("traceparent", out var traceparent), $"{what}: the upstream got no traceparent");
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", traceparent);
        Assert.True(traceparent.StartsWith($"00-{trace}-", StringComparison.Ordinal), $"{what}: upstream traceparent {traceparent}, caller's trace {trace}");
        Assert.True(traceparent.EndsWith(sampled ? "-01" : "-00", StringComparison.Ordinal), $"{what}: upstream traceparent {traceparent}, caller sampled: {sampled}");
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"no {name} header");

    private static string Parent(string trace, bool sampled) => $"00-{trace}-{ActivitySpanId.CreateRandom().ToHexString()}-{(sampled ? "01" : "00")}";

    private static string NewTrace() => ActivityTraceId.CreateRandom().ToHexString();

    private static string NewMarker() => $"trace-{Guid.NewGuid():N}";

    private static MockRequest Sent(TraceShape shape, string marker) =>
        Assert.Single(shape.Mock.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
}
