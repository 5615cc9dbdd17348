using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.Anthropic;

/// <summary>
/// The official Anthropic .NET SDK, unchanged, against the gateway's <c>/v1/messages</c> (run in both hosting shapes):
/// simulated models, and an OpenAI-type model on the mock upstream reached through the Messages surface.
/// </summary>
public abstract class AnthropicSdkTests
{
    /// <summary>A 1×1 PNG.</summary>
    public const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    protected abstract Uri BaseAddress { get; }

    protected abstract MockUpstreamServer Mock { get; }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private AnthropicClient Client(string key = GatewayFixture.DevKey) =>
        new(new ClientOptions { ApiKey = key, BaseUrl = BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, Timeout = TimeSpan.FromSeconds(30) });

    private static MessageCreateParams Ask(string model, string text, long maxTokens = 256) =>
        new() { Model = model, MaxTokens = maxTokens, Messages = [new UserMessageParam { Content = text }] };

    private static string TextOf(Message message) =>
        string.Concat(message.Content.Select(b => b.TryPickText(out var t) ? t.Text : string.Empty));

    [Fact]
    public async Task A_message_is_created_with_usage()
    {
        var message = await Client().Messages.Create(Ask("sim-small", "Hello from the Anthropic SDK"), Cancel);
        Assert.Contains("Hello from the Anthropic SDK", TextOf(message), StringComparison.Ordinal);
        Assert.Equal(StopReason.EndTurn, (StopReason)message.StopReason!);
        Assert.True(message.Usage.InputTokens > 0 && message.Usage.OutputTokens > 0);
    }

    [Fact]
    public async Task A_model_alias_routes_to_its_catalog_model()
    {
        // claude-sonnet-4-5-20250929 is Claude Code's default id; here it must resolve even though that model's provider has no key.
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client().Messages.Create(Ask("claude-sonnet-4-5-20250929", "x"), Cancel));
        Assert.NotEqual(System.Net.HttpStatusCode.NotFound, ex.StatusCode); // known (an alias), just not servable without the provider's key
        var unknown = await Assert.ThrowsAsync<AnthropicNotFoundException>(() => Client().Messages.Create(Ask("claude-no-such-model", "x"), Cancel));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_stream_delivers_the_text_and_the_usage()
    {
        var text = new System.Text.StringBuilder();
        long output = 0;
        var types = new List<string>();
        await foreach (var e in Client().Messages.CreateStreaming(Ask("sim-small", "stream through the Anthropic SDK"), Cancel))
        {
            types.Add(e.Type.Raw());
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text.Append(t.Text);
            }
            else if (e.TryPickDelta(out var end))
            {
                output = end.Usage.OutputTokens;
            }
        }

        Assert.Contains("stream through the Anthropic SDK", text.ToString(), StringComparison.Ordinal);
        Assert.True(output > 0);
        Assert.Equal("message_start", types[0]);
        Assert.Equal("message_stop", types[^1]);
    }

    [Fact]
    public async Task Tools_round_trip()
    {
        var tool = new Tool
        {
            Name = "get_weather",
            Description = "Weather for a city",
            InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) }, Required = ["city"] },
        };
        var ask = new MessageCreateParams { Model = "sim-small", MaxTokens = 256, Tools = [tool], Messages = [new UserMessageParam { Content = "What is the weather in Lyon?" }] };
        var first = await Client().Messages.Create(ask, Cancel);
        Assert.Equal(StopReason.ToolUse, (StopReason)first.StopReason!);
        var use = Assert.Single(first.Content.Where(b => b.TryPickToolUse(out _)).Select(b => { b.TryPickToolUse(out var u); return u!; }));
        Assert.Equal("get_weather", use.Name);
        Assert.True(use.Input.ContainsKey("city"));

        var second = await Client().Messages.Create(new MessageCreateParams
        {
            Model = "sim-small",
            MaxTokens = 256,
            Tools = [tool],
            Messages =
            [
                new UserMessageParam { Content = "What is the weather in Lyon?" },
                new AssistantMessageParam { Content = new List<ContentBlockParam> { new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } } },
                new UserMessageParam { Content = new List<ContentBlockParam> { new ToolResultBlockParam { ToolUseID = use.ID, Content = "sunny, 21 C" } } },
            ],
        }, Cancel);
        Assert.Equal(StopReason.EndTurn, (StopReason)second.StopReason!);
        Assert.Contains("sunny, 21 C", TextOf(second), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Structured_output_follows_the_schema()
    {
        var schema = new Dictionary<string, JsonElement>
        {
            ["type"] = JsonSerializer.SerializeToElement("object"),
            ["properties"] = JsonSerializer.SerializeToElement(new { title = new { type = "string" }, chapters = new { type = "array", items = new { type = "string" } } }),
            ["required"] = JsonSerializer.SerializeToElement(new[] { "title", "chapters" }),
            ["additionalProperties"] = JsonSerializer.SerializeToElement(false),
        };
        var ask = Ask("sim-small", "Structure a course on Orleans") with { OutputConfig = new OutputConfig { Format = new JsonOutputFormat { Schema = schema } } };
        var message = await Client().Messages.Create(ask, Cancel);
        using var doc = JsonDocument.Parse(TextOf(message));
        Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("title").ValueKind);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("chapters").ValueKind);
    }

    [Fact]
    public async Task An_image_reaches_a_vision_model()
    {
        var ask = new MessageCreateParams
        {
            Model = "sim-large",
            MaxTokens = 256,
            Messages =
            [
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam>
                    {
                        new ImageBlockParam { Source = new Base64ImageSource { Data = Png, MediaType = MediaType.ImagePng } },
                        new TextBlockParam { Text = "what is in this picture?" },
                    },
                },
            ],
        };
        var message = await Client().Messages.Create(ask, Cancel);
        Assert.Contains("1 image(s)", TextOf(message), StringComparison.Ordinal);
    }

    /// <summary>A two-page PDF (two page objects), base64.</summary>
    public static readonly string Pdf = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n" +
        "3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"));

    private static MessageCreateParams AskAboutPdf(string model, string text, string data) => new()
    {
        Model = model,
        MaxTokens = 256,
        Messages =
        [
            new UserMessageParam
            {
                Content = new List<ContentBlockParam>
                {
                    new DocumentBlockParam { Source = new Base64PdfSource { Data = data }, Title = "Quarterly report" },
                    new TextBlockParam { Text = text },
                },
            },
        ],
    };

    [Fact]
    public async Task A_pdf_document_reaches_an_anthropic_model_as_the_document_block_it_was()
    {
        var tag = Guid.NewGuid().ToString("N");
        var message = await Client().Messages.Create(AskAboutPdf("mock-claude", "summarise " + tag, Pdf), Cancel);
        Assert.Equal("Mock reply to: summarise " + tag, TextOf(message));

        using var sent = JsonDocument.Parse(Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal)).Body);
        var document = sent.RootElement.GetProperty("messages")[0].GetProperty("content")[0];
        Assert.Equal("document", document.GetProperty("type").GetString());
        var source = document.GetProperty("source");
        Assert.Equal(("base64", "application/pdf", Pdf), (source.GetProperty("type").GetString(), source.GetProperty("media_type").GetString(), source.GetProperty("data").GetString()));
        Assert.Equal("Quarterly report", document.GetProperty("title").GetString());

        // The two pages count in the prompt estimate (4,600 tokens a page).
        var count = await Client().Messages.CountTokens(new MessageCountTokensParams { Model = "mock-claude", Messages = AskAboutPdf("mock-claude", "x", Pdf).Messages }, Cancel);
        Assert.True(count.InputTokens >= 2 * 4_600, $"{count.InputTokens}");
    }

    [Theory]
    [InlineData("mock-gpt", "The model 'mock-gpt' lacks capability documents")]
    [InlineData("action:mock_chain", "Every model of action 'mock_chain' lacks capability documents")]
    public async Task A_pdf_document_to_a_model_or_chain_without_the_capability_is_400_naming_it(string model, string message)
    {
        var before = Mock.Requests.Count;
        var ex = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Client().Messages.Create(AskAboutPdf(model, "summarise", Pdf), Cancel));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, ex.StatusCode);
        using var body = JsonDocument.Parse(ex.ResponseBody);
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(message, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Mock.Requests.Count); // refused before any upstream call
    }

    [Fact]
    public async Task A_malformed_document_source_is_400()
    {
        // Base64 that is not a PDF (a PNG), and data that is not base64.
        foreach (var data in new[] { Png, "@@not base64@@" })
        {
            var ex = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Client().Messages.Create(AskAboutPdf("mock-claude", "summarise", data), Cancel));
            Assert.Contains("invalid_request_error", ex.ResponseBody, StringComparison.Ordinal);
            Assert.Contains("messages.0.content.0.source.data", ex.ResponseBody, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Count_tokens_answers()
    {
        var count = await Client().Messages.CountTokens(new MessageCountTokensParams { Model = "sim-small", Messages = [new UserMessageParam { Content = "count these tokens please" }] }, Cancel);
        Assert.True(count.InputTokens > 0);
    }

    [Fact]
    public async Task A_budget_exceeded_is_a_payment_required_error_and_a_wrong_key_unauthorized()
    {
        var (_, key) = await SurfaceHttp.CreateTenantAsync(BaseAddress, new { lifetimeTokens = 130 });
        await Client(key).Messages.Create(Ask("sim-small", "spend", 100), Cancel);
        var budget = await Assert.ThrowsAsync<AnthropicPaymentRequiredException>(() => Client(key).Messages.Create(Ask("sim-small", "spend", 100), Cancel));
        Assert.Equal(System.Net.HttpStatusCode.PaymentRequired, budget.StatusCode);
        Assert.Contains("billing_error", budget.ResponseBody, StringComparison.Ordinal);

        var denied = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Client("sk-wrong").Messages.Create(Ask("sim-small", "x"), Cancel));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, denied.StatusCode);
    }

    [Fact]
    public async Task A_messages_call_reaches_an_openai_type_model_on_the_mock_upstream()
    {
        var tag = Guid.NewGuid().ToString("N");
        var ask = Ask("mock-gpt", "hello upstream " + tag, 64) with { System = "be brief" };
        var message = await Client().Messages.Create(ask, Cancel);
        Assert.Equal("Mock reply to: hello upstream " + tag, TextOf(message));
        Assert.Equal("mock-gpt", (string)message.Model);
        Assert.True(message.Usage.InputTokens > 0 && message.Usage.OutputTokens > 0);

        var sent = Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal));
        Assert.Equal("/v1/chat/completions", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal("mock-small", body.RootElement.GetProperty("model").GetString());
        Assert.Equal("system", body.RootElement.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal(64, body.RootElement.GetProperty("max_tokens").GetInt32());
    }
}

[Collection(GatewayCollection.Name)]
public sealed class AnthropicSdkCoHostedTests(GatewayFixture gateway) : AnthropicSdkTests
{
    protected override Uri BaseAddress => gateway.BaseAddress;

    protected override MockUpstreamServer Mock => gateway.Mock;
}

[Collection(FrontEndCollection.Name)]
public sealed class AnthropicSdkFrontEndTests(FrontEndFixture fx) : AnthropicSdkTests
{
    protected override Uri BaseAddress => fx.Client.BaseAddress!;

    protected override MockUpstreamServer Mock => fx.Mock;
}
