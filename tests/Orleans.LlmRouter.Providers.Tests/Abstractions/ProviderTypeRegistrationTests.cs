using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Abstractions;

/// <summary>One registration per provider type: the factory builds the adapters, the descriptor names the type and its tokenizer family.</summary>
public sealed class ProviderTypeRegistrationTests
{
    private static ProviderDefinition Provider(string id, string type) =>
        new(id, type, "http://127.0.0.1:1", null, TimeSpan.FromSeconds(5), 1, true, ProviderLimits.Unlimited, BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);

    [Fact]
    public void The_registry_builds_adapters_of_registered_types_only_and_answers_each_types_tokenizer_family()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new ModelCatalog([Provider("oa", "openai"), Provider("an", "anthropic"), Provider("br", "bedrock"), Provider("x", "not_registered")], [], [], []));
        services.AddLlmRouterProviderType(_ => new OpenAiProviderFactory(new SingleClientFactory()));
        services.AddLlmRouterProviderType(_ => new AnthropicProviderFactory(new SingleClientFactory()));
        services.AddLlmRouterProviderType(_ => new BedrockProviderFactory(new SingleClientFactory()));
        services.AddSingleton<ProviderRegistry>();
        Assert.Equal(["openai", "anthropic", "bedrock"], services.LlmRouterProviderTypes().Select(t => t.Name));
        Assert.Equal(new HashSet<string> { "openai", "anthropic", "bedrock" }, services.LlmRouterProviderTypeNames());

        using var sp = services.BuildServiceProvider();
        var registry = sp.GetRequiredService<ProviderRegistry>();
        Assert.IsType<OpenAiChatProvider>(registry.Get("oa"));
        Assert.IsType<AnthropicChatProvider>(registry.Get("an"));
        Assert.IsType<BedrockChatProvider>(registry.Get("br"));
        Assert.Throws<KeyNotFoundException>(() => registry.Get("x"));

        // The anthropic type fixes the Claude family for every model id; the others go by the model id.
        Assert.Equal(TokenizerFamily.Claude, registry.TokenizerFamilyOf("anthropic"));
        Assert.Null(registry.TokenizerFamilyOf("openai"));
        Assert.Null(registry.TokenizerFamilyOf("bedrock"));
        Assert.Equal(TokenizerFamily.Claude, PromptTokenCounter.FamilyOf(registry.TokenizerFamilyOf("anthropic"), "a-future-model"));
    }
}
