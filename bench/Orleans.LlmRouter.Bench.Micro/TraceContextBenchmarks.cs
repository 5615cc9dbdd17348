using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Orleans.LlmRouter.Grains.Telemetry;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Bench.Micro;

/// <summary>
/// What carrying W3C trace context adds to one call when no exporter listens (issue 31), against the same call without
/// it: the front end writes its request activity into the grain call's request context and answers
/// <c>traceresponse</c>; the silo continues it in a propagation-only activity; HttpClient writes it on the upstream
/// request. The request's own activity (ASP.NET Core's) exists in both.
/// </summary>
[MemoryDiagnoser]
public class TraceContextBenchmarks
{
    private const string Caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    [Benchmark(Baseline = true)]
    public int Off()
    {
        var request = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").SetParentId(Caller).Start();
        RequestContext.Clear();
        using var upstream = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/chat/completions");
        request.Stop();
        return upstream.Headers.NonValidated.Count;
    }

    [Benchmark]
    public int On()
    {
        var request = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").SetParentId(Caller).Start();
        RequestContext.Clear();
        var traceresponse = GatewayTelemetry.TraceResponse(request);
        Contracts.TraceContextGrainCallFilter.Inject(); // front end: outgoing grain call filter
        Activity.Current = null; // silo: the grain call arrives without an activity
        using var propagation = TraceContext.Start(null, TraceContext.FromRequestContext, rootWhenMissing: false);
        using var upstream = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/chat/completions");
        DistributedContextPropagator.Current.Inject(propagation, upstream, static (carrier, key, value) => ((HttpRequestMessage)carrier!).Headers.TryAddWithoutValidation(key, value));
        propagation?.Stop();
        Activity.Current = request;
        request.Stop();
        return upstream.Headers.NonValidated.Count + traceresponse.Length;
    }
}
