using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Client.Tests;

[Collection(ClientClusterCollection.Name)]
public sealed class LlmRouterEmbeddingGeneratorTests(ClientClusterFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IEmbeddingGenerator<string, Embedding<float>> Generator => fx.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();

    [Fact]
    public async Task Embeddings_come_back_in_input_order_through_the_embedding_action_with_usage_and_cost()
    {
        var result = await Generator.GenerateAsync(["first text", "second text", "first text"], cancellationToken: Ct);

        Assert.Equal(3, result.Count);
        Assert.All(result, e => Assert.Equal("embed", e.ModelId));
        Assert.Equal(result[0].Vector.ToArray(), result[2].Vector.ToArray());
        Assert.NotEqual(result[0].Vector.ToArray(), result[1].Vector.ToArray());
        Assert.True(result.Usage?.InputTokenCount > 0);
        Assert.Equal("sim", result.AdditionalProperties?[LlmRouterPropertyNames.Provider]);
        Assert.IsType<decimal>(result.AdditionalProperties?[LlmRouterPropertyNames.CostUsd]);
    }

    [Fact]
    public async Task Dimensions_and_an_explicit_model_are_honoured()
    {
        var result = await Generator.GenerateAsync(["short"], new EmbeddingGenerationOptions { ModelId = "embed", Dimensions = 8 }, Ct);

        Assert.Equal(8, Assert.Single(result).Vector.Length);
    }

    [Fact]
    public async Task Budgets_apply_to_embeddings_too()
    {
        var options = new EmbeddingGenerationOptions().WithLlmRouter(tenant: "tiny");

        await Assert.ThrowsAsync<TokenBudgetExceededException>(() =>
            Generator.GenerateAsync([string.Join(' ', Enumerable.Repeat("many words to embed", 20))], options, Ct));
    }
}
