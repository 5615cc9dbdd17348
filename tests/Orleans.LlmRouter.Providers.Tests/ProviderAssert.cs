using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Tests;

/// <summary>
/// Asserts a <see cref="ProviderException"/> of one <see cref="ProviderErrorClass"/> (one exception type, told apart by
/// its class), and JSON an adapter wrote against its expected shape.
/// </summary>
internal static class ProviderAssert
{
    public static async Task<ProviderException> ThrowsAsync(ProviderErrorClass errorClass, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<ProviderException>(call);
        Assert.Equal(errorClass, ex.ErrorClass);
        return ex;
    }

    public static ProviderException Throws(ProviderErrorClass errorClass, Action call)
    {
        var ex = Assert.Throws<ProviderException>(call);
        Assert.Equal(errorClass, ex.ErrorClass);
        return ex;
    }

    /// <summary>
    /// <paramref name="actual"/> is the JSON <paramref name="expected"/> — the same properties and values, nothing more —
    /// however the writer escaped its strings.
    /// </summary>
    public static void SameJson(string expected, System.Text.Json.JsonElement actual) =>
        Assert.True(
            System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(expected), System.Text.Json.Nodes.JsonNode.Parse(actual.GetRawText())),
            $"Expected {expected}\nActual   {actual.GetRawText()}");
}
