using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Client;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Samples.CoHosted;

/// <summary>
/// Co-hosts a silo that runs the router (localhost clustering, in-memory storage, the repository's <c>config/</c>), then
/// asks one question through <see cref="IChatClient"/> and prints the answer, the routed model and its cost.
/// Settings (command line <c>--Key=value</c> or environment <c>Key__Sub</c>):
/// <c>LlmRouter:ConfigPath</c> (else <c>./config</c> or the nearest <c>config/</c> above the app),
/// <c>LlmRouter:SiloPort</c> (11211), <c>LlmRouter:GatewayPort</c> (30100) — not the gateway's 11111/30000, so both can run —,
/// <c>Sample:Tenant</c> (dev), <c>Sample:Model</c> (<c>action:chat_small</c>; a catalog model or <c>auto</c> also work),
/// <c>Sample:Question</c>.
/// </summary>
public static class CoHostedSample
{
    /// <summary>Runs the sample; returns 0 on success, 1 when the router refused or failed the call, 2 on bad configuration.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var builder = Host.CreateApplicationBuilder(args);
        var config = builder.Configuration;
        // Warnings and errors only, so the answer stands out. Once the answer is printed the silo shuts down; in a
        // one-silo cluster with in-memory storage, grains that flush state while deactivating cannot reach the storage
        // grains any more and log errors about it (nothing is lost that was not in memory anyway), so the sample goes quiet.
        var stopping = false;
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter((category, level) => level >= (stopping ? LogLevel.Critical : LogLevel.Warning)
            && (level >= LogLevel.Error || category is not ("Orleans.Runtime.Silo" or "Orleans.Runtime.Watchdog")));

        CatalogLoadResult loaded;
        try
        {
            loaded = new CatalogLoader().LoadPath(SampleConfigLocator.Find(config["LlmRouter:ConfigPath"]));
        }
        catch (ConfigurationException ex)
        {
            await output.WriteLineAsync(ex.Message);
            return 2;
        }

        var siloPort = Port(config["LlmRouter:SiloPort"], 11211);
        var gatewayPort = Port(config["LlmRouter:GatewayPort"], 30100);
        var tenant = config["Sample:Tenant"] ?? "dev";
        var model = config["Sample:Model"] ?? "action:chat_small";
        var question = config["Sample:Question"] ?? "In one sentence: what does an LLM router do?";

        // The silo: the router's grains run in this process, so the IChatClient below calls them with no network hop.
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "llmrouter-sample", clusterId: "llmrouter-sample");
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddLlmRouterGrains(loaded.Catalog);
        });

        // The one line an app needs; middleware (.UseLogging(), .UseFunctionInvocation(), ...) composes on the builder.
        builder.Services.AddLlmRouterChatClient(o => o.DefaultTenantId = tenant);

        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var chat = host.Services.GetRequiredService<IChatClient>();
            var response = await chat.GetResponseAsync(question, new ChatOptions { ModelId = model }, cancellationToken);
            var usage = response.Usage;
            await output.WriteLineAsync($"Question: {question}");
            await output.WriteLineAsync($"Answer:   {response.Text}");
            await output.WriteLineAsync($"Model:    {response.ModelId} (provider {response.GetLlmRouterProvider()}, tenant {tenant})");
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"Cost:     ${response.GetLlmRouterCostUsd():0.########} USD ({usage?.InputTokenCount} input + {usage?.OutputTokenCount} output tokens)"));
            return 0;
        }
        catch (LlmRouterException ex)
        {
            await output.WriteLineAsync($"The router did not answer: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
        finally
        {
            stopping = true;
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static int Port(string? configured, int fallback) =>
        int.TryParse(configured, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : configured is null ? fallback : throw new ArgumentException($"'{configured}' is not a TCP port.");
}
