using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Tests;

/// <summary>Asserts a <see cref="ProviderException"/> of one <see cref="ProviderErrorClass"/> (one exception type, told apart by its class).</summary>
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
}
