using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Caching;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>The cache key and the rule that decides which requests are cached, without a cluster.</summary>
public sealed class CacheRulesTests
{
    private static readonly ChatRequest Base = new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", "hello")]) { Temperature = 0 };

    private static TenantDefinition Tenant(CacheSettings? cache) =>
        new("t", null, [], BudgetLimits.None, ProviderLimits.Unlimited, new HashSet<string>(), new HashSet<string>(), 0.8m, "UTC", new SourceLocation("t.yaml", 1, 1)) { Cache = cache };

    private static ActionDefinition Action(CacheSettings? cache) =>
        new("a", null, new HashSet<Capability>(), new Dictionary<string, IReadOnlyList<string>>(), new SourceLocation("a.yaml", 1, 1)) { Cache = cache };

    private static string Key(ChatRequest request, string route = "model:m", bool stream = false) => RequestFingerprint.Of(request, route, stream);

    public static TheoryData<string, Func<ChatRequest, ChatRequest>> Changes() => new()
    {
        { "message text", r => r with { Messages = [r.Messages[0], RouterMessage.FromText("user", "hello!")] } },
        { "role", r => r with { Messages = [r.Messages[0], RouterMessage.FromText("assistant", "hello")] } },
        { "message order", r => r with { Messages = [r.Messages[1], r.Messages[0]] } },
        { "image part", r => r with { Messages = [r.Messages[0], new RouterMessage("user", [ContentPart.FromText("hello"), ContentPart.FromImage("https://example.invalid/a.png")])] } },
        { "tool call", r => r with { Messages = [r.Messages[0], new RouterMessage("assistant", [], ToolCalls: [new ToolCall("c1", "f", "{}")])] } },
        { "tools", r => r with { Tools = [new ToolDefinition("f", "does f", "{}")] } },
        { "tool choice", r => r with { ToolChoice = "required" } },
        { "response format", r => r with { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonObject) } },
        { "temperature", r => r with { Temperature = 0.5 } },
        { "top_p", r => r with { TopP = 0.9 } },
        { "seed", r => r with { Seed = 1 } },
        { "max tokens", r => r with { MaxOutputTokens = 10 } },
        { "stop", r => r with { Stop = ["\n"] } },
        { "reasoning effort", r => r with { ReasoningEffort = "high" } },
        { "thinking budget", r => r with { ThinkingBudgetTokens = 1024 } },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Every_field_that_determines_the_answer_changes_the_key(string field, Func<ChatRequest, ChatRequest> change)
    {
        Assert.NotEqual(Key(Base), Key(change(Base)));
        Assert.False(string.IsNullOrEmpty(field));
    }

    [Fact]
    public void The_route_and_streaming_change_the_key_and_the_end_user_metadata_and_breakpoints_do_not()
    {
        Assert.NotEqual(Key(Base), Key(Base, route: "model:other"));
        Assert.NotEqual(Key(Base), Key(Base, stream: true));
        Assert.Equal(Key(Base), Key(Base with { User = "alice", Metadata = new Dictionary<string, string> { ["k"] = "v" } }));
        var marked = Base with { Messages = [Base.Messages[0], new RouterMessage("user", [ContentPart.FromText("hello") with { CacheControlJson = """{"type":"ephemeral"}""" }])] };
        Assert.Equal(Key(Base), Key(marked));
        Assert.Matches("^[0-9a-f]{64}$", Key(Base));
    }

    [Fact]
    public void The_rule_caches_deterministic_requests_of_an_enabled_tenant_or_action_and_what_a_caller_opts_into()
    {
        var on = Tenant(new CacheSettings { Enabled = true });
        var hot = Base with { Temperature = 0.7 };
        Assert.NotNull(Decide(on, null, Base, null));
        Assert.NotNull(Decide(on, null, hot with { Seed = 3 }, null));
        Assert.Null(Decide(on, null, hot, null));
        Assert.NotNull(Decide(Tenant(new CacheSettings { Enabled = true, AnyRequest = true }), null, hot, null));
        Assert.Null(Decide(Tenant(null), null, Base, null));
        Assert.NotNull(Decide(Tenant(null), Action(new CacheSettings { Enabled = true }), Base, null));
        Assert.Null(Decide(on, Action(new CacheSettings { Enabled = false }), Base, null));
        Assert.NotNull(Decide(Tenant(null), null, hot, new CacheDirective { Mode = CacheMode.Use }));
        Assert.Null(Decide(on, null, Base, new CacheDirective { Mode = CacheMode.Skip }));
        Assert.Null(Decide(Tenant(new CacheSettings { Enabled = false }), null, Base, new CacheDirective { Mode = CacheMode.Use }));
    }

    [Fact]
    public void The_ttl_comes_from_the_request_then_the_action_then_the_tenant_then_the_default()
    {
        var tenant = Tenant(new CacheSettings { Enabled = true, Ttl = TimeSpan.FromMinutes(5) });
        var action = Action(new CacheSettings { Ttl = TimeSpan.FromMinutes(2) });
        Assert.Equal(TimeSpan.FromSeconds(30), Decide(tenant, action, Base, new CacheDirective { TtlSeconds = 30 })!.Ttl);
        Assert.Equal(TimeSpan.FromMinutes(2), Decide(tenant, action, Base, null)!.Ttl);
        Assert.Equal(TimeSpan.FromMinutes(5), Decide(tenant, null, Base, null)!.Ttl);
        Assert.Equal(TimeSpan.FromHours(1), Decide(Tenant(new CacheSettings { Enabled = true }), null, Base, null)!.Ttl);
    }

    [Fact]
    public void A_refresh_or_no_cache_does_not_read_and_a_shared_namespace_is_named_by_the_tenant()
    {
        var on = Tenant(new CacheSettings { Enabled = true });
        Assert.True(Decide(on, null, Base, null)!.Lookup);
        Assert.False(Decide(on, null, Base, new CacheDirective { Mode = CacheMode.Refresh })!.Lookup);
        Assert.False(Decide(on, null, Base, new CacheDirective { MaxAgeSeconds = 0 })!.Lookup);
        Assert.Equal("t:t", Decide(on, null, Base, null)!.Namespace);
        Assert.Equal("s:pool", Decide(Tenant(new CacheSettings { Enabled = true, Namespace = "pool" }), null, Base, null)!.Namespace);
        Assert.Equal(0.25m, Decide(Tenant(new CacheSettings { Enabled = true, HitPriceUsd = 0.25m }), null, Base, null)!.HitPriceUsd);
    }

    private static CacheUse? Decide(TenantDefinition tenant, ActionDefinition? action, ChatRequest request, CacheDirective? directive) =>
        CachePolicy.Decide(tenant, action, request, directive, TimeSpan.FromHours(1), 1024);
}
