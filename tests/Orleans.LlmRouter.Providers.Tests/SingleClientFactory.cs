namespace Orleans.LlmRouter.Providers.Tests;

/// <summary>An <see cref="IHttpClientFactory"/> that hands out a new plain client per name (for factory-built adapters in tests).</summary>
internal sealed class SingleClientFactory : IHttpClientFactory
{
    public HttpClient CreateClient(string name) => new();
}
