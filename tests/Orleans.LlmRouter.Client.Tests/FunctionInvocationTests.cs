using Microsoft.Extensions.AI;

namespace Orleans.LlmRouter.Client.Tests;

[Collection(ClientClusterCollection.Name)]
public sealed class FunctionInvocationTests(ClientClusterFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class Weather
    {
        public int Calls;

        public string Get(string city)
        {
            Interlocked.Increment(ref Calls);
            return $"Sunny in {city}, 23 C";
        }
    }

    [Fact]
    public async Task A_tool_round_trip_invokes_the_function_and_the_answer_mentions_its_result()
    {
        var weather = new Weather();
        var tool = AIFunctionFactory.Create(weather.Get, "get_weather", "Gets the current weather of a city.");
        var options = new ChatOptions { Tools = [tool] }.WithLlmRouter(action: "chat");

        var response = await fx.Chat.GetResponseAsync("Weather in Lisbon?", options, Ct);

        Assert.Equal(1, weather.Calls);
        Assert.Contains("Tool result received: \"Sunny in Weather in Lisbon?, 23 C\"", response.Text, StringComparison.Ordinal);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Weather in Lisbon?", call.Arguments?["city"]?.ToString());
        var result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        Assert.Equal("small", response.ModelId);
    }

    [Fact]
    public async Task A_tool_round_trip_works_while_streaming()
    {
        var weather = new Weather();
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create(weather.Get, "get_weather")] }.WithLlmRouter(action: "chat");

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in fx.Chat.GetStreamingResponseAsync("Weather in Porto?", options, Ct))
        {
            updates.Add(update);
        }

        Assert.Equal(1, weather.Calls);
        Assert.Contains("Sunny in Weather in Porto?, 23 C", string.Concat(updates.Select(u => u.Text)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_function_invocation_the_tool_call_comes_back_to_the_caller()
    {
        using var raw = fx.CreateRawClient();
        var tool = AIFunctionFactory.Create((string city) => "unused", "get_weather");

        var response = await raw.GetResponseAsync("Weather in Faro?", new ChatOptions { ModelId = "small", Tools = [tool], ToolMode = ChatToolMode.RequireSpecific("get_weather") }, Ct);

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_mode_none_gets_text_instead_of_a_tool_call()
    {
        using var raw = fx.CreateRawClient();
        var tool = AIFunctionFactory.Create((string city) => "unused", "get_weather");

        var response = await raw.GetResponseAsync("Just talk", new ChatOptions { ModelId = "small", Tools = [tool], ToolMode = ChatToolMode.None }, Ct);

        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Contains("Just talk", response.Text, StringComparison.Ordinal);
    }
}
