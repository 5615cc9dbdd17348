using System.ClientModel;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>The official OpenAI .NET SDK, unchanged, against the gateway (run in both hosting shapes).</summary>
public abstract class OpenAiSdkTests
{
    protected abstract Uri BaseAddress { get; }

    private OpenAIClient Client(string key = GatewayFixture.DevKey) =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task Chat_completes_with_usage()
    {
        ChatCompletion completion = await Client().GetChatClient("action:chat_small").CompleteChatAsync([new UserChatMessage("Hello from the OpenAI SDK")], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Contains("Hello from the OpenAI SDK", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal("sim-small", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Streaming_delivers_the_text_and_the_usage()
    {
        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var options = new ChatCompletionOptions();
        await foreach (var update in Client().GetChatClient("sim-small").CompleteChatStreamingAsync([new UserChatMessage("stream through the SDK")], options, TestContext.Current.CancellationToken))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Contains("stream through the SDK", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.True(usage!.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Json_schema_output_parses()
    {
        var schema = BinaryData.FromString("""{"type":"object","properties":{"title":{"type":"string"},"chapters":{"type":"array","items":{"type":"string"}}},"required":["title","chapters"],"additionalProperties":false}""");
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("course", schema, jsonSchemaIsStrict: true) };
        ChatCompletion completion = await Client().GetChatClient("action:course_structuring").CompleteChatAsync([new UserChatMessage("Structure a course on Orleans")], options, TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("title").ValueKind);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("chapters").ValueKind);
    }

    [Fact]
    public async Task Tools_round_trip()
    {
        var chat = Client().GetChatClient("sim-small");
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Lyon?")];
        ChatCompletion first = await chat.CompleteChatAsync(messages, options, TestContext.Current.CancellationToken);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(call.FunctionArguments).RootElement.ValueKind);

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "sunny, 21 C"));
        ChatCompletion second = await chat.CompleteChatAsync(messages, options, TestContext.Current.CancellationToken);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Contains("sunny, 21 C", second.Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embeddings_and_models()
    {
        var embedding = await Client().GetEmbeddingClient("sim-embed").GenerateEmbeddingAsync("embed me", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(16, embedding.Value.ToFloats().Length);

        var models = await Client().GetOpenAIModelClient().GetModelsAsync(TestContext.Current.CancellationToken);
        Assert.Contains(models.Value, m => m.Id == "sim-small");
    }

    [Fact]
    public async Task A_wrong_key_is_an_authentication_error_for_the_sdk()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Client("sk-wrong").GetChatClient("sim-small").CompleteChatAsync([new UserChatMessage("x")], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(401, ex.Status);
    }
}

[Collection(GatewayCollection.Name)]
public sealed class OpenAiSdkCoHostedTests(GatewayFixture gateway) : OpenAiSdkTests
{
    protected override Uri BaseAddress => gateway.BaseAddress;
}

[Collection(FrontEndCollection.Name)]
public sealed class OpenAiSdkFrontEndTests(FrontEndFixture fx) : OpenAiSdkTests
{
    protected override Uri BaseAddress => fx.Client.BaseAddress!;
}
