using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Bench.Micro;

/// <summary>The pieces every request goes through, each alone.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private static readonly byte[] SmallBody = Encoding.UTF8.GetBytes("""{"model":"action:chat_small","max_tokens":64,"temperature":0.2,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Say hello to the benchmark."}]}""");
    private static readonly byte[] LargeBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 225)) } } }));
    private static readonly PromptPart[] Prompt = [new("You are a helpful assistant.", 0), new(string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 40)), 0)];
    private static readonly ModelPricing Pricing = new(0.15m, 0.60m, 0.075m);

    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly ChatStreamItem _chunk = new() { TextDelta = "Hello, benchmark! ", Model = "gpt-4o-mini", Provider = "openai" };
    private ModelCatalog _catalog = null!;
    private RoutePlanner _planner = null!;
    private RouteQuery _action = null!;
    private RouteQuery _auto = null!;
    private PromptTokenCounter _counter = null!;
    private CircuitBreaker _breaker = null!;
    private RateWindow _window = null!;
    private DateTimeOffset _now;
    private int _unique;

    [GlobalSetup]
    public void Setup()
    {
        _catalog = new CatalogLoader(environment: v => "bench-key").LoadPath(Path.Combine(AppContext.BaseDirectory, "shipped-config")).Catalog;
        _planner = new RoutePlanner(_catalog);
        _action = new RouteQuery { Action = "chat_small", Needs = new HashSet<Capability>(), EstimatedPromptTokens = 400, MaxOutputTokens = 64 };
        _auto = new RouteQuery { Model = RouteQuery.Auto, Needs = new HashSet<Capability> { Capability.Tools }, EstimatedPromptTokens = 400, MaxOutputTokens = 64, MaxCostUsd = 0.01m };
        _counter = new PromptTokenCounter();
        _counter.Count(TokenizerFamily.O200k, Prompt); // loads the encoding and fills the cache
        _breaker = new CircuitBreaker(BreakerSettings.Default);
        _window = new RateWindow(new ProviderLimits(1_000_000_000, 1_000_000_000_000));
        _now = DateTimeOffset.UtcNow;
    }

    [Benchmark(Description = "parse chat request (small)")]
    public object ParseSmall()
    {
        using var doc = JsonDocument.Parse(SmallBody);
        return OpenAiRequestParser.Parse(doc.RootElement);
    }

    [Benchmark(Description = "parse chat request (10 KB)")]
    public object ParseLarge()
    {
        using var doc = JsonDocument.Parse(LargeBody);
        return OpenAiRequestParser.Parse(doc.RootElement);
    }

    [Benchmark(Description = "route: action chain")]
    public object RouteAction() => _planner.Plan(_action);

    [Benchmark(Description = "route: auto (capability + max cost)")]
    public object RouteAuto() => _planner.Plan(_auto);

    [Benchmark(Description = "tokens: o200k, cached")]
    public long TokensCached() => _counter.Count(TokenizerFamily.O200k, Prompt);

    [Benchmark(Description = "tokens: o200k, not cached")]
    public long TokensUncached() => _counter.Count(TokenizerFamily.O200k, [Prompt[0], new(Prompt[1].Text + _unique++, 0)]);

    [Benchmark(Description = "tokens: heuristic")]
    public long TokensHeuristic() => _counter.Count(TokenizerFamily.Heuristic, Prompt);

    [Benchmark(Description = "breaker: record + check")]
    public bool Breaker()
    {
        _breaker.RecordSuccess(_now);
        return _breaker.AllowsTraffic;
    }

    [Benchmark(Description = "limiter: grant from window")]
    public (int, long) Limiter() => _window.Grant(_now, 1, 100);

    [Benchmark(Description = "cost: decimal price of a call")]
    public decimal Cost() => CostCalculator.Cost(Pricing, 1234, 321, 200);

    [Benchmark(Description = "SSE: rewrite one chunk")]
    public int SseChunk()
    {
        _buffer.ResetWrittenCount();
        using var w = new Utf8JsonWriter(_buffer);
        OpenAiWriter.WriteChunk(w, "chatcmpl-0123456789abcdef", 1_795_000_000, "gpt-4o-mini", _chunk, first: false);
        w.Flush();
        return _buffer.WrittenCount;
    }
}
