using Orleans.LlmRouter.Samples.ContractsOnly;

namespace Orleans.LlmRouter.Host.Tests.Samples;

/// <summary>An Orleans app that references only the router's contracts calls the router grain in a running cluster.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ContractsOnlySampleTests(GatewayFixture gateway)
{
    [Fact]
    public async Task An_app_with_only_the_contracts_explains_completes_and_streams()
    {
        using var output = new StringWriter();
        var exit = await ContractsOnlySample.RunAsync(gateway.GatewayPort, gateway.ClusterId, "llmrouter", "dev", output, TestContext.Current.CancellationToken);
        var text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("plan: sim-small", text, StringComparison.Ordinal);
        Assert.Contains("answer (sim-small", text, StringComparison.Ordinal);
        Assert.Contains("streamed: ", text, StringComparison.Ordinal);
        Assert.Contains("Hello from an app that only knows the contracts", text, StringComparison.Ordinal);

        // The sample's assembly references nothing of the router but its contracts.
        var routerAssemblies = typeof(ContractsOnlySample).Assembly.GetReferencedAssemblies()
            .Select(a => a.Name!).Where(n => n.StartsWith("Orleans.LlmRouter", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Orleans.LlmRouter.Contracts"], routerAssemblies);
    }
}
