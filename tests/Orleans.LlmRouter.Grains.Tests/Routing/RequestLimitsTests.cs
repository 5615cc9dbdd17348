using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Routing;

namespace Orleans.LlmRouter.Grains.Tests.Routing;

/// <summary>The checks the front end and the router share, at small limits.</summary>
public sealed class RequestLimitsTests
{
    private static readonly RequestLimitsOptions Small = new() { MaxMessages = 3, MaxCharactersPerMessage = 10, MaxTools = 1, MaxImages = 2, MaxEmbeddingInputs = 2 };

    private static ChatRequest Chat(params RouterMessage[] messages) => new(messages);

    private static string ParamOf(Action validate) => Assert.Throws<InvalidRoutingException>(validate).Param!;

    [Fact]
    public void A_request_at_every_limit_passes()
    {
        var image = ContentPart.FromImage("https://example.com/a.png");
        var request = Chat(RouterMessage.FromText("user", "0123456789"), new RouterMessage("user", [image, image]), RouterMessage.FromText("user", "x"))
            with { Tools = [new ToolDefinition("f", null, null)] };
        RequestLimits.Validate(request, Small);
        RequestLimits.Validate(new EmbeddingRequest(["0123456789", "b"]), Small);
    }

    [Fact]
    public void Each_limit_names_its_field()
    {
        Assert.Equal("messages", ParamOf(() => RequestLimits.Validate(Chat(Enumerable.Repeat(RouterMessage.FromText("user", "x"), 4).ToArray()), Small)));
        Assert.Equal("messages[1].content", ParamOf(() => RequestLimits.Validate(Chat(RouterMessage.FromText("user", "ok"), new RouterMessage("user", [ContentPart.FromText("012345"), ContentPart.FromText("67890")])), Small)));
        Assert.Equal("tools", ParamOf(() => RequestLimits.Validate(Chat(RouterMessage.FromText("user", "x")) with { Tools = [new("f", null, null), new("g", null, null)] }, Small)));
        var image = ContentPart.FromImage("https://example.com/a.png");
        Assert.Equal("messages", ParamOf(() => RequestLimits.Validate(Chat(new RouterMessage("user", [image, image]), new RouterMessage("user", [image])), Small)));
        Assert.Equal("input", ParamOf(() => RequestLimits.Validate(new EmbeddingRequest(["a", "b", "c"]), Small)));
        Assert.Equal("input[0]", ParamOf(() => RequestLimits.Validate(new EmbeddingRequest(["01234567890"]), Small)));
    }

    [Fact]
    public void Tool_call_arguments_count_as_characters_of_their_message()
    {
        var call = new RouterMessage("assistant", [], ToolCalls: [new ToolCall("c1", "f", "{\"a\":\"123456\"}")]);
        Assert.Equal("messages[0].content", ParamOf(() => RequestLimits.Validate(Chat(call), Small)));
    }

    [Fact]
    public void The_defaults_are_the_documented_ones_and_bad_settings_fail_validation()
    {
        var defaults = new RequestLimitsOptions();
        Assert.Equal((16L * 1024 * 1024, 2048, 4_000_000, 128, 100, 2048), (defaults.MaxBodyBytes, defaults.MaxMessages, defaults.MaxCharactersPerMessage, defaults.MaxTools, defaults.MaxImages, defaults.MaxEmbeddingInputs));

        var services = new ServiceCollection().AddRequestLimits();
        services.Configure<RequestLimitsOptions>(o => (o.MaxMessages, o.MaxBodyBytes) = (0, 10));
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RequestLimitsOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains("LlmRouter:Limits:MaxMessages", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("LlmRouter:Limits:MaxBodyBytes", StringComparison.Ordinal));
    }
}
