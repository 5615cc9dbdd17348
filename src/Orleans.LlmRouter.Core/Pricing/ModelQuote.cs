using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Pricing;

/// <summary>A model's cost for a given token count.</summary>
internal sealed record ModelQuote(string Model, string Provider, bool Enabled, decimal CostUsd, ModelPricing Pricing);
