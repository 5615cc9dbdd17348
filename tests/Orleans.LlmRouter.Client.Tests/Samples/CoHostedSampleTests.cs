using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Orleans.LlmRouter.Samples.CoHosted;

namespace Orleans.LlmRouter.Client.Tests.Samples;

public sealed partial class CoHostedSampleTests
{
    [Fact]
    public async Task The_co_hosted_sample_prints_a_routed_answer_with_its_model_and_cost_and_exits_0()
    {
        var config = Path.Combine(AppContext.BaseDirectory, "shipped-config");
        using var output = new StringWriter();
        string[] args =
        [
            $"--LlmRouter:ConfigPath={config}",
            $"--LlmRouter:SiloPort={FreePort()}",
            $"--LlmRouter:GatewayPort={FreePort()}",
            // The simulated model, so the test never depends on provider keys present in the environment.
            "--Sample:Model=sim-small",
            "--Sample:Question=What is a co-hosted silo?",
        ];

        var exit = await CoHostedSample.RunAsync(args, output, TestContext.Current.CancellationToken);

        var text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("Answer:   [sim-small-1] You said: \"What is a co-hosted silo?\"", text, StringComparison.Ordinal);
        Assert.Contains("Model:    sim-small (provider simulated, tenant dev)", text, StringComparison.Ordinal);
        Assert.Matches(CostLine(), text);
    }

    [Fact]
    public async Task The_sample_reports_a_bad_config_path_and_exits_2()
    {
        using var output = new StringWriter();

        var exit = await CoHostedSample.RunAsync(["--LlmRouter:ConfigPath=/nonexistent/llmrouter-config"], output, TestContext.Current.CancellationToken);

        Assert.Equal(2, exit);
        Assert.NotEmpty(output.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"Cost:\s+\$0\.\d*[1-9]\d* USD \(\d+ input \+ \d+ output tokens\)")]
    private static partial Regex CostLine();
}
