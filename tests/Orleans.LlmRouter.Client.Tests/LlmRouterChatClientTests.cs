using System.Text.Json;
using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Client.Tests;

[Collection(ClientClusterCollection.Name)]
public sealed class LlmRouterChatClientTests(ClientClusterFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetResponseAsync_returns_the_routed_text_model_usage_provider_and_cost()
    {
        var response = await fx.Chat.GetResponseAsync("Hello from a test", new ChatOptions { ModelId = "small" }, Ct);

        Assert.Equal("small", response.ModelId);
        Assert.StartsWith("[small-1] You said: \"Hello from a test\"", response.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.NotNull(response.ResponseId);
        var usage = Assert.IsType<UsageDetails>(response.Usage);
        Assert.True(usage.InputTokenCount > 0);
        Assert.True(usage.OutputTokenCount > 0);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
        Assert.Equal("sim", response.GetLlmRouterProvider());

        // Priced at 1 USD / 2 USD per million input / output tokens.
        var expected = ((decimal)usage.InputTokenCount!.Value * 1m + (decimal)usage.OutputTokenCount!.Value * 2m) / 1_000_000m;
        Assert.Equal(expected, response.GetLlmRouterCostUsd());
        Assert.Equal(expected, response.AdditionalProperties![LlmRouterPropertyNames.CostUsd]);
        Assert.Equal("small-1", response.AdditionalProperties[LlmRouterPropertyNames.ProviderModel]);
    }

    [Fact]
    public async Task A_model_with_deployments_names_the_deployment_that_answered()
    {
        var response = await fx.Chat.GetResponseAsync("Hello, pool", new ChatOptions { ModelId = "pooled" }, Ct);

        Assert.Equal("pool-a", response.AdditionalProperties![LlmRouterPropertyNames.Deployment]);
        Assert.Equal("pool-1", response.AdditionalProperties[LlmRouterPropertyNames.ProviderModel]);
        Assert.False((await fx.Chat.GetResponseAsync("Hello", new ChatOptions { ModelId = "small" }, Ct)).AdditionalProperties!.ContainsKey(LlmRouterPropertyNames.Deployment));

        var first = true;
        await foreach (var update in fx.Chat.GetStreamingResponseAsync("Stream, pool", new ChatOptions { ModelId = "pooled" }, Ct))
        {
            if (first)
            {
                Assert.Equal("pool-a", update.AdditionalProperties![LlmRouterPropertyNames.Deployment]);
                first = false;
            }
        }
    }

    [Fact]
    public async Task Streaming_updates_concatenate_to_the_text_and_end_with_usage_and_cost()
    {
        var options = new ChatOptions { ModelId = "small" };
        var whole = await fx.Chat.GetResponseAsync("Stream a reply about routers and silos", options, Ct);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in fx.Chat.GetStreamingResponseAsync("Stream a reply about routers and silos", options, Ct))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the text arrives in several updates");
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates, u => Assert.Equal("small", u.ModelId));
        Assert.All(updates, u => Assert.Equal(updates[0].ResponseId, u.ResponseId));

        var last = updates[^1];
        var usage = Assert.Single(last.Contents.OfType<UsageContent>()).Details;
        Assert.Equal(whole.Usage!.OutputTokenCount, usage.OutputTokenCount);
        Assert.True(usage.InputTokenCount > 0);
        Assert.Equal(ChatFinishReason.Stop, last.FinishReason);
        Assert.Equal(whole.GetLlmRouterCostUsd(), last.AdditionalProperties?[LlmRouterPropertyNames.CostUsd]);

        var combined = updates.ToChatResponse();
        Assert.Equal(whole.Text, combined.Text);
        Assert.Equal("small", combined.ModelId);
        Assert.Equal(whole.Usage.TotalTokenCount, combined.Usage?.TotalTokenCount);
    }

    [Fact]
    public async Task A_json_schema_response_format_yields_json_that_fits_the_schema()
    {
        var options = new ChatOptions
        {
            ModelId = "action:chat",
            ResponseFormat = ChatResponseFormat.ForJsonSchema<CityInfo>(),
        };

        var response = await fx.Chat.GetResponseAsync("Describe Lisbon", options, Ct);

        using var json = JsonDocument.Parse(response.Text);
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(JsonValueKind.String, root.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("population").ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("landmarks").ValueKind);
    }

    [Fact]
    public async Task Structured_output_helpers_deserialize_the_routed_json()
    {
        var response = await fx.Chat.GetResponseAsync<CityInfo>("Describe Porto", new ChatOptions { ModelId = "small" }, cancellationToken: Ct);

        Assert.Equal("small", response.ModelId);
        Assert.False(string.IsNullOrEmpty(response.Result.Name));
        Assert.NotEmpty(response.Result.Landmarks);
    }

    [Fact]
    public async Task A_json_object_response_format_yields_a_json_object()
    {
        var response = await fx.Chat.GetResponseAsync("Reply in JSON", new ChatOptions { ModelId = "small", ResponseFormat = ChatResponseFormat.Json }, Ct);

        using var json = JsonDocument.Parse(response.Text);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
    }

    [Fact]
    public async Task Images_as_data_and_uri_content_reach_the_model_and_route_to_a_vision_model()
    {
        var png = new DataContent(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "image/png");
        var remote = new UriContent(new Uri("https://example.invalid/cat.jpg"), "image/jpeg");
        var message = new Microsoft.Extensions.AI.ChatMessage(ChatRole.User, [new TextContent("What is in these pictures?"), png, remote]);

        // `chat` lists small first, but small has no vision: the router must pick large.
        var response = await fx.Chat.GetResponseAsync([message], new ChatOptions().WithLlmRouter(action: "chat"), Ct);

        Assert.Equal("large", response.ModelId);
        Assert.Contains("2 image(s)", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Instructions_and_prior_turns_are_sent_and_the_last_user_turn_is_answered()
    {
        List<Microsoft.Extensions.AI.ChatMessage> history =
        [
            new(ChatRole.System, "You are terse."),
            new(ChatRole.User, "First question"),
            new(ChatRole.Assistant, "First answer"),
            new(ChatRole.User, "Second question"),
        ];

        var lastTurnOnly = await fx.Chat.GetResponseAsync([history[^1]], new ChatOptions { ModelId = "small" }, Ct);
        var withHistory = await fx.Chat.GetResponseAsync(history, new ChatOptions { ModelId = "small" }, Ct);
        var withInstructions = await fx.Chat.GetResponseAsync(history, new ChatOptions { ModelId = "small", Instructions = "Answer in English, please." }, Ct);

        Assert.Contains("You said: \"Second question\"", withInstructions.Text, StringComparison.Ordinal);
        Assert.True(withHistory.Usage!.InputTokenCount > lastTurnOnly.Usage!.InputTokenCount, "prior turns are part of the prompt");
        Assert.True(withInstructions.Usage!.InputTokenCount > withHistory.Usage.InputTokenCount, "instructions are part of the prompt");
        var completion = Assert.IsType<ChatCompletion>(withInstructions.RawRepresentation);
        Assert.Equal("assistant", completion.Message.Role);
    }

    [Fact]
    public async Task The_chat_client_works_on_a_silos_own_grain_factory_as_in_a_co_hosted_app()
    {
        var siloGrains = fx.Cluster.Silos[1].ServiceProvider.GetService(typeof(IGrainFactory)) as IGrainFactory;
        Assert.NotNull(siloGrains);
        using var chat = new LlmRouterChatClient(siloGrains, new LlmRouterClientOptions { DefaultTenantId = ClientClusterFixture.DefaultTenant, DefaultModelId = "action:chat" });

        var response = await chat.GetResponseAsync("Hello from inside a silo", cancellationToken: Ct);

        Assert.Equal("small", response.ModelId);
        Assert.Contains("Hello from inside a silo", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_names_the_router_and_the_default_route()
    {
        using var chat = fx.CreateRawClient(o => o.DefaultModelId = "action:chat");

        var metadata = chat.GetService<ChatClientMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal(LlmRouterChatClient.ProviderName, metadata.ProviderName);
        Assert.Equal("action:chat", metadata.DefaultModelId);
        Assert.NotNull(chat.GetService<IRouterGrain>());
        Assert.Same(chat, chat.GetService<LlmRouterChatClient>());
    }

    public sealed record CityInfo(string Name, int Population, string[] Landmarks);
}
