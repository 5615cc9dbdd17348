using System.Diagnostics;
using System.Net;
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

    [Fact]
    public async Task Embedded_without_an_exporter_the_upstream_gets_the_callers_trace_id()
    {
        await using var shape = await TraceShape.StartAsync(frontEnd: false, exporter: false);
        var trace = ActivityTraceId.CreateRandom().ToHexString();
        var marker = $"trace-{Guid.NewGuid():N}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = SurfaceHttp.Json($$"""{"model":"mock-gpt","messages":[{"role":"user","content":"{{marker}}"}]}"""),
        };
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await shape.Client.SendAsync(request, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var sent = Assert.Single(shape.Mock.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
        Assert.True(sent.Headers.TryGetValue("traceparent", out var traceparent), "the upstream got no traceparent");
        Assert.StartsWith($"00-{trace}-", traceparent, StringComparison.Ordinal);
    }

    private static MockRequest Sent(TraceShape shape, string marker) =>
        Assert.Single(shape.Mock.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
}
