using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>The image's health check (<c>--probe</c>): 0 for a ready gateway, 1 for anything else.</summary>
public sealed class HealthProbeTests : IClassFixture<GatewayFixture>
{
    private readonly GatewayFixture _fx;

    public HealthProbeTests(GatewayFixture fx) => _fx = fx;

    [Fact]
    public async Task A_ready_gateway_probes_0_an_unready_path_or_a_closed_port_1()
    {
        var error = new StringWriter();
        var ready = new Uri(_fx.Client.BaseAddress!, "/readyz").ToString();
        Assert.Equal(0, await HealthProbe.RunAsync(["--probe", ready], error));
        Assert.Equal(1, await HealthProbe.RunAsync(["--probe", new Uri(_fx.Client.BaseAddress!, "/no-such-path").ToString()], error));
        Assert.Equal(1, await HealthProbe.RunAsync(["--probe", $"http://127.0.0.1:{GatewayFixture.FreePort()}/readyz"], error));
        Assert.Equal(1, await HealthProbe.RunAsync(["--probe", "not a url"], error));
    }
}
