using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Host.Tests.ProviderTypes;

/// <summary>
/// A provider type that exists only in this test project (<c>echo_test</c>): registered from the test with
/// <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>, with no edit to src/.
/// </summary>
internal sealed class EchoProviderFactory : IDescribedChatProviderFactory
{
    public static ProviderTypeDescriptor Descriptor { get; } = new("echo_test", TokenizerFamily.Heuristic);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider) => new EchoChatProvider(provider.Options.GetValueOrDefault("prefix") ?? "echo: ");
}
