using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;

namespace Orleans.LlmRouter.Core.Tests.Routing;

/// <summary>An explicit model (or action) that cannot do what the request asks is the caller's error, naming the capability.</summary>
public sealed class CapabilityMismatchTests
{
    private static readonly ModelCatalog Catalog = Load();

    private static ModelCatalog Load()
    {
        var result = new CatalogLoader().Load([("caps.yaml", """
            providers:
              - { id: sim, type: simulated }
            models:
              - { name: plain, provider: sim, provider_model: p, context_window: 32000, max_output_tokens: 1000, capabilities: [chat], pricing: { input: 1, output: 1 } }
              - { name: full, provider: sim, provider_model: f, context_window: 32000, max_output_tokens: 1000, capabilities: [chat, vision, structured_output, tools, streaming], pricing: { input: 2, output: 2 } }
              - { name: reader, provider: sim, provider_model: r, context_window: 200000, max_output_tokens: 1000, capabilities: [chat, vision, documents], pricing: { input: 3, output: 3 } }
              - { name: embed, provider: sim, provider_model: e, context_window: 8000, max_output_tokens: 1, capabilities: [embedding], pricing: { input: 1, output: 0 } }
            actions:
              - { name: chatty, requires: [chat], strategies: { default: [plain, full] } }
              - { name: reading, requires: [chat], strategies: { default: [plain, reader] } }
              - { name: plainly, requires: [chat], strategies: { default: [plain] } }
              - { name: embedding, requires: [embedding], strategies: { default: [embed] } }
            """)]);
        return result.Catalog;
    }

    private static RoutePlan Plan(string? model, params Capability[] needs) =>
        new RoutePlanner(Catalog).Plan(new RouteQuery { Model = model, Needs = needs.ToHashSet(), EstimatedPromptTokens = 10 });

    [Theory]
    [InlineData("embed", "chat", new Capability[0])]
    [InlineData("plain", "vision", new[] { Capability.Vision })]
    [InlineData("full", "documents", new[] { Capability.Documents })]
    [InlineData("plain", "structured_output", new[] { Capability.StructuredOutput })]
    [InlineData("plain", "tools", new[] { Capability.Tools })]
    [InlineData("plain", "embedding", new[] { Capability.Embedding })]
    [InlineData("full", "embedding", new[] { Capability.Embedding })]
    public void An_explicit_model_lacking_a_needed_capability_is_a_bad_request(string model, string missing, Capability[] needs)
    {
        var ex = Assert.Throws<RoutingException>(() => Plan(model, needs));
        Assert.Equal("model", ex.Param);
        Assert.False(ex.NotFound);
        Assert.Equal([missing], ex.MissingCapabilities);
        Assert.Contains($"lacks capability {missing}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(model, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_missing_capability_is_named()
    {
        var ex = Assert.Throws<RoutingException>(() => Plan("plain", Capability.Vision, Capability.Tools));
        Assert.Equal(["vision", "tools"], ex.MissingCapabilities.Order(StringComparer.Ordinal).Reverse());
    }

    [Theory]
    [InlineData("full", new[] { Capability.Vision, Capability.StructuredOutput, Capability.Tools })]
    [InlineData("embed", new[] { Capability.Embedding })]
    [InlineData("plain", new Capability[0])]
    public void A_capable_explicit_model_is_planned(string model, Capability[] needs)
    {
        var plan = Plan(model, needs);
        Assert.Equal(model, Assert.Single(plan.Eligible).Model.Name);
    }

    [Fact]
    public void Long_context_stays_a_routing_decision()
    {
        var plan = Plan("plain", Capability.LongContext);
        Assert.Contains("long_context", Assert.Single(plan.Candidates).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Chat_to_an_embedding_action_and_embeddings_to_a_chat_action_are_bad_requests()
    {
        var chat = Assert.Throws<RoutingException>(() => new RoutePlanner(Catalog).Plan(new RouteQuery { Action = "embedding" }));
        Assert.Equal(("model", false), (chat.Param, chat.NotFound));
        var embed = Assert.Throws<RoutingException>(() => new RoutePlanner(Catalog).Plan(new RouteQuery { Action = "chatty", Needs = new HashSet<Capability> { Capability.Embedding } }));
        Assert.Equal(["embedding"], embed.MissingCapabilities);
    }

    [Fact]
    public void Auto_routing_still_filters_quietly()
    {
        var plan = Plan(RouteQuery.Auto, Capability.Vision);
        Assert.Equal(["full", "reader"], plan.Eligible.Select(c => c.Model.Name));
        Assert.Equal(["embed"], Plan(RouteQuery.Auto, Capability.Embedding).Eligible.Select(c => c.Model.Name));
    }

    [Fact]
    public void A_chain_none_of_whose_models_has_a_needed_capability_is_a_bad_request_naming_it()
    {
        var planner = new RoutePlanner(Catalog);
        var query = new RouteQuery { Action = "chatty", Needs = new HashSet<Capability> { Capability.Documents }, EstimatedPromptTokens = 10 };
        var plan = planner.Plan(query);
        Assert.Empty(plan.Eligible);
        var gap = planner.CapabilityGap(query, plan);
        Assert.NotNull(gap);
        Assert.Equal(("model", false), (gap!.Param, gap.NotFound));
        Assert.Equal(["documents"], gap.MissingCapabilities);
        Assert.Contains("Every model of action 'chatty' lacks capability documents", gap.Message, StringComparison.Ordinal);

        // Images to a chain with no vision model read the same way; auto names the catalog.
        var images = new RouteQuery { Action = "plainly", Needs = new HashSet<Capability> { Capability.Vision }, EstimatedPromptTokens = 10 };
        Assert.Equal(["vision"], planner.CapabilityGap(images, planner.Plan(images))!.MissingCapabilities);
        var auto = new RouteQuery { Model = RouteQuery.Auto, Needs = new HashSet<Capability> { Capability.Documents, Capability.Tools }, EstimatedPromptTokens = 10 };
        var none = planner.CapabilityGap(auto, planner.Plan(auto));
        Assert.Null(none); // documents (reader) and tools (full) each exist; only together they do not: a routing failure
    }

    [Fact]
    public void A_chain_with_a_capable_model_plans_it_and_has_no_gap()
    {
        var planner = new RoutePlanner(Catalog);
        var query = new RouteQuery { Action = "reading", Needs = new HashSet<Capability> { Capability.Documents }, EstimatedPromptTokens = 10 };
        var plan = planner.Plan(query);
        Assert.Equal(["reader"], plan.Eligible.Select(c => c.Model.Name));
        Assert.Contains("lacks capability documents", plan.Candidates.Single(c => c.Model.Name == "plain").Reason, StringComparison.Ordinal);
        Assert.Null(planner.CapabilityGap(query, plan));

        // Capable but unavailable is not the caller's error: the route failed.
        var down = planner.Plan(query, (_, m) => m.Name == "reader" ? "provider down" : null);
        Assert.Empty(down.Eligible);
        Assert.Null(planner.CapabilityGap(query, down));
    }
}
