using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// Registers the <c>bedrock</c> provider type: Amazon Bedrock's Converse API for any model it serves
/// (<c>provider_model</c> a model id or inference profile such as <c>anthropic.claude-3-5-haiku-20241022-v1:0</c>,
/// <c>us.anthropic.claude-sonnet-4-5-20250929-v1:0</c>, <c>meta.llama3-1-70b-instruct-v1:0</c>). Options: <c>region</c>
/// (else <c>AWS_REGION</c> / <c>AWS_DEFAULT_REGION</c>, else us-east-1) and <c>profile</c> (a shared-credentials
/// profile; else the <c>AWS_ACCESS_KEY_ID</c> / <c>AWS_SECRET_ACCESS_KEY</c> / <c>AWS_SESSION_TOKEN</c> environment
/// variables, else <c>AWS_PROFILE</c>). <c>base_url</c> overrides <c>https://bedrock-runtime.{region}.amazonaws.com</c>.
/// </summary>
/// <param name="clients">The HTTP clients (one pool per provider).</param>
/// <param name="environment">Reads the AWS environment variables (the process environment when null).</param>
/// <param name="time">The clock of signatures, the stream idle timeout and Retry-After dates.</param>
internal sealed class BedrockProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null) : IDescribedChatProviderFactory
{
    /// <summary>The <c>bedrock</c> type (tokenizer by model id: Claude ids count as Claude).</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.Bedrock);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clients);
        var env = environment ?? Environment.GetEnvironmentVariable;
        var region = provider.Options.GetValueOrDefault("region") is { Length: > 0 } r ? r : env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
        var clock = time ?? TimeProvider.System;
        return new BedrockChatProvider(
            provider,
            clients.CreateClient(ProviderHttpClients.NameFor(provider.Id)),
            new SigV4Signer(region, "bedrock", clock),
            new AwsCredentialSource(provider.Options.GetValueOrDefault("profile"), env),
            time);
    }
}
