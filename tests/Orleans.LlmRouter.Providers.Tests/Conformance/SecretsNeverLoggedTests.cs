using System.Collections.Concurrent;
using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Conformance;

/// <summary>
/// The azure_openai key and Entra token, and the bedrock secret key, access key and signatures, never reach a log
/// line: the adapters run on the production HTTP clients (<see cref="IHttpClientFactory"/> with its request logging at
/// Trace) and their own Debug logging, through successes, streams and failures, and every line is captured.
/// </summary>
public sealed class SecretsNeverLoggedTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string AzureKey = "azure-key-SECRET-logged-never-77ab";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_key_token_secret_or_signature_appears_in_any_log_line()
    {
        var lines = new ConcurrentQueue<string>();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new Capture(lines)));
        services.AddHttpClient();
        services.AddSingleton<Microsoft.Extensions.Options.IConfigureOptions<Microsoft.Extensions.Http.HttpClientFactoryOptions>, ProviderHttpClients>();
        await using var sp = services.BuildServiceProvider();
        var clients = sp.GetRequiredService<IHttpClientFactory>();
        var logs = sp.GetRequiredService<ILoggerFactory>();

        var azure = Provider("az-log", "azure_openai", []);
        var entra = Provider("az-entra-log", "azure_openai", new() { ["auth"] = "entra_id" });
        var bedrock = Provider("br-log", "bedrock", new() { ["region"] = "us-west-2" });
        var adapters = new[]
        {
            (azure, new AzureOpenAiProviderFactory(clients, _ => AzureKey, logs: logs).Create(azure)),
            (entra, new AzureOpenAiProviderFactory(clients, tokens: new StaticCredential(), logs: logs).Create(entra)),
            (bedrock, new BedrockProviderFactory(clients, Bedrock.BedrockChatProviderTests.Environment(session: "SESSION-TOKEN-secret-31f")).Create(bedrock)),
        };

        foreach (var (provider, adapter) in adapters)
        {
            foreach (var scenario in new[] { "plain", "auth", "rate_limit", "server", "throttling", "midstream", "content_filter_prompt" })
            {
                var call = new ProviderCall(new ChatRequest([RouterMessage.FromText("user", $"hello [mock:{scenario}]")]), Model(provider), provider);
                // The router logs a failed attempt with the exception: its text counts as a log line too.
                lines.Enqueue((await Record.ExceptionAsync(() => adapter.CompleteAsync(call, Ct)))?.ToString() ?? string.Empty);
                lines.Enqueue((await Record.ExceptionAsync(async () =>
                {
                    await foreach (var _ in adapter.StreamAsync(call, Ct))
                    {
                    }
                }))?.ToString() ?? string.Empty);
            }
        }

        var signatures = mock.Server.Requests.Where(r => r.Path.StartsWith("/model/", StringComparison.Ordinal))
            .Select(r => r.Headers["authorization"].Split("Signature=")[1]).ToList();
        Assert.NotEmpty(signatures);
        Assert.Contains(lines, l => l.Contains("swedencentral", StringComparison.Ordinal)); // the region is logged (Debug)
        Assert.Contains(lines, l => l.Contains("/converse", StringComparison.Ordinal));     // the HTTP client logged Bedrock calls
        var secrets = new[] { AzureKey, MockUpstreamServer.AzureEntraToken, MockUpstreamServer.AwsSecretAccessKey, MockUpstreamServer.AwsAccessKeyId, "SESSION-TOKEN-secret-31f" }.Concat(signatures);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    private ProviderDefinition Provider(string id, string type, Dictionary<string, string> options) =>
        new(id, type, mock.Server.BaseAddress.ToString(), null, TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, options, SourceLocation.None);

    private static ModelDefinition Model(ProviderDefinition provider) =>
        new("m", provider.Id, provider.Type == "bedrock" ? "anthropic.claude-3-5-haiku-20241022-v1:0" : "gpt-4o-deployment", new HashSet<Capability> { Capability.Chat }, 128_000, 512, new ModelPricing(1, 2), null, SourceLocation.None);

    private sealed class StaticCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(MockUpstreamServer.AzureEntraToken, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    private sealed class Capture(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var text = $"{category} {formatter(state, exception)} {exception}";
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    text += " " + string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"));
                }

                lines.Enqueue(text);
            }
        }
    }
}
