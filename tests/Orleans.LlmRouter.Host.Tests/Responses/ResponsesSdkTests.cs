using System.ClientModel;
using System.Text.Json;
using OpenAI.Responses;
using Orleans.LlmRouter.MockUpstream;

#pragma warning disable OPENAI001 // the SDK marks the Responses client experimental

namespace Orleans.LlmRouter.Host.Tests.Responses;

/// <summary>
/// The official OpenAI .NET SDK's Responses client, unchanged, against the gateway's <c>/v1/responses</c> (run in both
/// hosting shapes): simulated models, and an Anthropic-type model on the mock upstream reached through the Responses surface.
/// </summary>
public abstract class ResponsesSdkTests
{
    protected abstract Uri BaseAddress { get; }

    protected abstract MockUpstreamServer Mock { get; }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private ResponsesClient Client(string key = GatewayFixture.DevKey) =>
        new(new ApiKeyCredential(key), new ResponsesClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    private static CreateResponseOptions Ask(string model, params ResponseItem[] items)
    {
        var options = new CreateResponseOptions { Model = model };
        foreach (var item in items)
        {
            options.InputItems.Add(item);
        }

        return options;
    }

    [Fact]
    public async Task A_response_is_created_with_usage_and_can_be_read_back_and_deleted()
    {
        var client = Client();
        ResponseResult response = await client.CreateResponseAsync("sim-small", "Hello from the Responses client", previousResponseId: null, Cancel);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Contains("Hello from the Responses client", response.GetOutputText(), StringComparison.Ordinal);
        Assert.Equal("sim-small", response.Model);
        Assert.True(response.Usage.InputTokenCount > 0 && response.Usage.OutputTokenCount > 0);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);

        ResponseResult read = await client.GetResponseAsync(response.Id, Cancel);
        Assert.Equal(response.GetOutputText(), read.GetOutputText());
        ResponseDeletionResult deleted = await client.DeleteResponseAsync(response.Id, Cancel);
        Assert.True(deleted.Deleted);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(response.Id, Cancel));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task A_stream_delivers_the_text_and_the_usage()
    {
        var text = new System.Text.StringBuilder();
        ResponseResult? completed = null;
        var sequence = new List<int>();
        var ask = Ask("sim-small", ResponseItem.CreateUserMessageItem("stream through the Responses client"));
        ask.StreamingEnabled = true;
        await foreach (var update in await Client().CreateResponseStreamingAsync(ask, Cancel))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Contains("stream through the Responses client", text.ToString(), StringComparison.Ordinal);
        Assert.NotNull(completed);
        Assert.Equal(text.ToString(), completed!.GetOutputText());
        Assert.True(completed.Usage.OutputTokenCount > 0);
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
    }

    [Fact]
    public async Task Tools_round_trip()
    {
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), strictModeEnabled: false, functionDescription: "Weather for a city");
        var ask = Ask("sim-small", ResponseItem.CreateUserMessageItem("What is the weather in Lyon?"));
        ask.Tools.Add(tool);
        ResponseResult first = await Client().CreateResponseAsync(ask, Cancel);
        var call = Assert.Single(first.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.ValueKind);

        var next = Ask("sim-small", ResponseItem.CreateUserMessageItem("What is the weather in Lyon?"), ResponseItem.CreateFunctionCallItem(call.CallId, call.FunctionName, call.FunctionArguments), ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny, 21 C"));
        next.Tools.Add(tool);
        ResponseResult second = await Client().CreateResponseAsync(next, Cancel);
        Assert.Contains("sunny, 21 C", second.GetOutputText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_follow_up_continues_from_the_previous_response()
    {
        var client = Client();
        ResponseResult first = await client.CreateResponseAsync("sim-small", "My name is Ada", previousResponseId: null, Cancel);
        ResponseResult second = await client.CreateResponseAsync("sim-small", "What is my name?", first.Id, Cancel);
        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.Contains("What is my name?", second.GetOutputText(), StringComparison.Ordinal);
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount); // the first turn was sent along

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync("sim-small", "x", "resp_does_not_exist", Cancel));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Structured_output_follows_the_schema()
    {
        var ask = Ask("sim-small", ResponseItem.CreateUserMessageItem("Structure a course on Orleans"));
        ask.TextOptions = new ResponseTextOptions
        {
            TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("course", BinaryData.FromString("""{"type":"object","properties":{"title":{"type":"string"},"chapters":{"type":"array","items":{"type":"string"}}},"required":["title","chapters"],"additionalProperties":false}"""), jsonSchemaFormatDescription: null, jsonSchemaIsStrict: true),
        };
        ResponseResult response = await Client().CreateResponseAsync(ask, Cancel);
        using var doc = JsonDocument.Parse(response.GetOutputText());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("chapters").ValueKind);
    }

    [Fact]
    public async Task An_image_reaches_a_vision_model()
    {
        var image = ResponseContentPart.CreateInputImagePart(BinaryData.FromBytes(Convert.FromBase64String(Anthropic.AnthropicSdkTests.Png), "image/png"), imageDetailLevel: null);
        var ask = Ask("sim-large", ResponseItem.CreateUserMessageItem([image, ResponseContentPart.CreateInputTextPart("what is in this picture?")]));
        ResponseResult response = await Client().CreateResponseAsync(ask, Cancel);
        Assert.Contains("1 image(s)", response.GetOutputText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_budget_exceeded_is_402_and_a_wrong_key_401()
    {
        var (_, key) = await SurfaceHttp.CreateTenantAsync(BaseAddress, new { lifetimeTokens = 130 });
        var ask = Ask("sim-small", ResponseItem.CreateUserMessageItem("spend"));
        ask.MaxOutputTokenCount = 100;
        await Client(key).CreateResponseAsync(ask, Cancel);
        var budget = await Assert.ThrowsAsync<ClientResultException>(() => Client(key).CreateResponseAsync(ask, Cancel));
        Assert.Equal(402, budget.Status);

        var denied = await Assert.ThrowsAsync<ClientResultException>(() => Client("sk-wrong").CreateResponseAsync("sim-small", "x", null, Cancel));
        Assert.Equal(401, denied.Status);
    }

    [Fact]
    public async Task A_responses_call_reaches_an_anthropic_type_model_on_the_mock_upstream()
    {
        var tag = Guid.NewGuid().ToString("N");
        var ask = Ask("mock-claude", ResponseItem.CreateUserMessageItem("hello claude " + tag));
        ask.Instructions = "be brief";
        ResponseResult response = await Client().CreateResponseAsync(ask, Cancel);
        Assert.Equal("Mock reply to: hello claude " + tag, response.GetOutputText());
        Assert.Equal("mock-claude", response.Model);
        Assert.True(response.Usage.InputTokenCount > 0 && response.Usage.OutputTokenCount > 0);

        var sent = Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal));
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal(MockBackedConfig.Key, sent.Headers["x-api-key"]);
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal("be brief", body.RootElement.GetProperty("system").GetString());
    }
}

[Collection(GatewayCollection.Name)]
public sealed class ResponsesSdkCoHostedTests(GatewayFixture gateway) : ResponsesSdkTests
{
    protected override Uri BaseAddress => gateway.BaseAddress;

    protected override MockUpstreamServer Mock => gateway.Mock;
}

[Collection(FrontEndCollection.Name)]
public sealed class ResponsesSdkFrontEndTests(FrontEndFixture fx) : ResponsesSdkTests
{
    protected override Uri BaseAddress => fx.Client.BaseAddress!;

    protected override MockUpstreamServer Mock => fx.Mock;
}
