using System.Net;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Orleans.LlmRouter.Providers.Http;

/// <summary>
/// The HTTP clients adapters use (<c>llmrouter-provider-{id}</c>, one connection pool per provider from
/// <see cref="IHttpClientFactory"/>): a <see cref="SocketsHttpHandler"/> that closes a connection whose response was
/// abandoned instead of draining it — a caller that walks away from a stream stops the upstream generating (and
/// billing) at once — with a connect timeout and connections recycled every few minutes so DNS changes are seen.
/// </summary>
internal sealed class ProviderHttpClients : IConfigureNamedOptions<HttpClientFactoryOptions>
{
    public const string Prefix = "llmrouter-provider-";

    public static string NameFor(string providerId) => Prefix + providerId;

    public void Configure(string? name, HttpClientFactoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name is null || !name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return;
        }

        options.HttpMessageHandlerBuilderActions.Add(builder => builder.PrimaryHandler = new SocketsHttpHandler
        {
            MaxResponseDrainSize = 0,
            ResponseDrainTimeout = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AutomaticDecompression = DecompressionMethods.All,
            EnableMultipleHttp2Connections = true,
        });
    }

    public void Configure(HttpClientFactoryOptions options) => Configure(Options.DefaultName, options);
}
