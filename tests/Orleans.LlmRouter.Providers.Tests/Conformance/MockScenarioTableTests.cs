using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.Gemini;
using Orleans.LlmRouter.Providers.Ollama;
using Orleans.LlmRouter.Providers.OpenAi;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Conformance;

/// <summary>
/// The mock's one scenario table (<see cref="MockScenarios"/>) is what its API classes do: every error scenario the
/// table lists for an API fails a call through that API's adapter with a typed error.
/// </summary>
public sealed class MockScenarioTableTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "sk-table-SECRET-0000";

    public static TheoryData<string, string> Errors()
    {
        var data = new TheoryData<string, string>();
        foreach (var scenario in MockScenarios.All.Values.Where(s => s.Kind == MockScenarioKind.Error && s.Name != "slow"))
        {
            foreach (var api in scenario.Apis)
            {
                data.Add(scenario.Name, api);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Every_error_scenario_of_the_table_fails_its_apis_calls_with_a_typed_error(string scenario, string api)
    {
        var provider = new ProviderDefinition(api + "-table", api, mock.Server.BaseAddress.ToString(), "TABLE_KEY", TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);
        var model = new ModelDefinition("table-model", provider.Id, api == MockScenarios.Bedrock ? "anthropic.claude-3-5-haiku-20241022-v1:0" : "mock-small", new HashSet<Capability> { Capability.Chat }, 128_000, 256, new ModelPricing(1, 2), null, SourceLocation.None);
        IChatProvider adapter = api switch
        {
            MockScenarios.OpenAi => new OpenAiChatProvider(provider, new HttpClient(), Key),
            MockScenarios.Azure => new AzureOpenAiProviderFactory(new SingleClientFactory(), _ => Key).Create(provider),
            MockScenarios.Anthropic => new AnthropicChatProvider(provider, new HttpClient(), Key),
            MockScenarios.Bedrock => new BedrockProviderFactory(new SingleClientFactory(), Bedrock.BedrockChatProviderTests.Environment()).Create(provider),
            MockScenarios.Gemini => new GeminiChatProvider(provider, new HttpClient(), Key),
            MockScenarios.Ollama => new OllamaChatProvider(provider, new HttpClient(), Key),
            _ => throw new ArgumentOutOfRangeException(nameof(api)),
        };

        var call = new ProviderCall(new ChatRequest([RouterMessage.FromText("user", $"hello [mock:{scenario}]")]) { MaxOutputTokens = 64 }, model, provider);
        var thrown = await Record.ExceptionAsync(() => adapter.CompleteAsync(call, TestContext.Current.CancellationToken));
        var ex = Assert.IsAssignableFrom<ProviderException>(thrown);
        Assert.NotEqual(ProviderErrorClass.UpstreamInvalidResponse, ex.ErrorClass); // an error answer, not a broken one
    }
}
