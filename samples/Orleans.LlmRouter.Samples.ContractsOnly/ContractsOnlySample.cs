using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Samples.ContractsOnly;

/// <summary>
/// Joins a running router cluster as an Orleans client and asks <see cref="IRouterGrain"/> directly: a completion by
/// action, a streamed completion, and a dry run. Only the contracts assembly of the router is referenced.
/// </summary>
public static class ContractsOnlySample
{
    public static async Task<int> RunAsync(int gatewayPort, string clusterId, string serviceId, string tenant, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort, serviceId, clusterId));
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var router = host.Services.GetRequiredService<IClusterClient>().GetGrain<IRouterGrain>(0);
            var request = new ChatRequest([RouterMessage.FromText("user", "Hello from an app that only knows the contracts")]) { MaxOutputTokens = 64 };
            var context = new RouterContext(tenant) { Action = "chat_small", Tags = ["sample"] };

            var plan = await router.ExplainAsync(request, context);
            await output.WriteLineAsync($"plan: {plan.ChosenModel} then [{string.Join(", ", plan.Fallbacks)}], ~{plan.EstimatedPromptTokens} prompt tokens");

            var completion = await router.CompleteAsync(request, context, cancellationToken);
            await output.WriteLineAsync($"answer ({completion.Model}, {completion.Usage.TotalTokens} tokens, {completion.CostUsd} USD): {completion.Message.Text}");

            var streamed = new System.Text.StringBuilder();
            await foreach (var item in router.StreamAsync(request, context with { RequestId = Guid.NewGuid().ToString("N") }, cancellationToken))
            {
                streamed.Append(item.TextDelta);
            }

            await output.WriteLineAsync($"streamed: {streamed}");
            return 0;
        }
        catch (BudgetExceededException ex)
        {
            await output.WriteLineAsync("over budget: " + ex.Message);
            return 3;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
