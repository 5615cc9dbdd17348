using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// What the router knows about a provider type without building an adapter: its YAML <c>type</c> name and, when the
/// type fixes it, the tokenizer family its models count prompts with (otherwise the model id decides). A type exists
/// exactly when a factory describing it is registered with
/// <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>; the catalog's list of
/// known types is read from those registrations.
/// </summary>
/// <param name="Name">The YAML <c>type</c> (lower case, e.g. <c>openai</c>, <c>bedrock</c>).</param>
/// <param name="TokenizerFamily">The family every model of this type counts with, or null to go by the model id.</param>
public sealed record ProviderTypeDescriptor(string Name, TokenizerFamily? TokenizerFamily = null);
