using Microsoft.Extensions.Configuration;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>The failure-detection and timeout settings behind the documented silo-loss bound (README, "A lost silo").</summary>
public sealed class SiloSettingsTests
{
    [Fact]
    public void Production_keeps_orleans_probe_defaults_and_the_local_preset_detects_within_seconds()
    {
        var production = SiloSettings.From(Config());
        Assert.Equal(MembershipSettings.Production, production.Membership);
        Assert.Equal(TimeSpan.FromSeconds(5), production.Membership.ProbeTimeout);
        Assert.Equal(3, production.Membership.NumMissedProbesLimit);
        Assert.Equal(2, production.Membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(20), production.Membership.DetectionTime);
        Assert.Equal(TimeSpan.FromSeconds(5), production.GatewayListRefreshPeriod);
        Assert.Equal(TimeSpan.FromSeconds(30), production.ResponseTimeout);

        var fast = SiloSettings.From(Config(("LlmRouter:FastMembership", "true")));
        Assert.Equal(MembershipSettings.Fast, fast.Membership);
        Assert.Equal(TimeSpan.FromSeconds(3), fast.Membership.DetectionTime);
    }

    [Fact]
    public void Each_setting_can_be_overridden_over_its_preset()
    {
        var settings = SiloSettings.From(Config(
            ("LlmRouter:FastMembership", "true"),
            ("LlmRouter:Membership:ProbeTimeout", "00:00:02"),
            ("LlmRouter:Membership:NumMissedProbesLimit", "3"),
            ("LlmRouter:Membership:NumVotesForDeathDeclaration", "2"),
            ("LlmRouter:Membership:TableRefreshTimeout", "4"),
            ("LlmRouter:Membership:IAmAliveTablePublishTimeout", "0.5"),
            ("LlmRouter:GatewayListRefreshPeriod", "2"),
            ("LlmRouter:ResponseTimeout", "00:01:00")));

        Assert.Equal(new MembershipSettings(TimeSpan.FromSeconds(2), 3, 2, TimeSpan.FromSeconds(4), TimeSpan.FromMilliseconds(500)), settings.Membership);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.GatewayListRefreshPeriod);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.ResponseTimeout);
    }

    [Theory]
    [InlineData("LlmRouter:Membership:ProbeTimeout", "soon")]
    [InlineData("LlmRouter:Membership:ProbeTimeout", "-1")]
    [InlineData("LlmRouter:Membership:NumMissedProbesLimit", "0")]
    [InlineData("LlmRouter:ResponseTimeout", "never")]
    [InlineData("LlmRouter:Storage", "sqlite")]
    [InlineData("LlmRouter:Clustering", "consul")]
    [InlineData("LlmRouter:Role", "worker")]
    [InlineData("LlmRouter:LedgerOutageMode", "ignore")]
    [InlineData("LlmRouter:SiloPort", "70000")]
    [InlineData("LlmRouter:GatewayPort", "not-a-port")]
    [InlineData("LlmRouter:KubernetesHosting", "true")] // without LlmRouter:Clustering=postgres
    [InlineData("LlmRouter:LedgerRetainMonths", "0")]
    public void A_bad_value_stops_start_up_naming_the_setting(string key, string value)
    {
        // Bound to LlmRouterClusterOptions and validated (LlmRouterOptionsValidator): start-up fails with exit code 2.
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => SiloSettings.From(Config((key, value))));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ledger_retention_settings_reach_the_silo_settings_and_are_off_by_default()
    {
        var none = SiloSettings.From(Config());
        Assert.Null(none.LedgerRetainMonths);
        Assert.Null(none.LedgerRetentionExportDirectory);

        var kept = SiloSettings.From(Config(("LlmRouter:LedgerRetainMonths", "13"), ("LlmRouter:LedgerRetentionExportDirectory", "/var/lib/llmrouter/ledger-export")));
        Assert.Equal(13, kept.LedgerRetainMonths);
        Assert.Equal("/var/lib/llmrouter/ledger-export", kept.LedgerRetentionExportDirectory);
    }

    [Fact]
    public void Cluster_faults_are_transient_and_other_failures_are_not()
    {
        Assert.True(OpenAiErrors.IsClusterFault(new Orleans.Runtime.SiloUnavailableException()));
        Assert.True(OpenAiErrors.IsClusterFault(new Orleans.Runtime.GatewayTooBusyException()));
        Assert.True(OpenAiErrors.IsClusterFault(new Orleans.Runtime.Messaging.ConnectionFailedException("no gateway")));
        Assert.True(OpenAiErrors.IsClusterFault(new TimeoutException()));
        Assert.False(OpenAiErrors.IsClusterFault(new InvalidOperationException()));
        Assert.False(OpenAiErrors.IsClusterFault(new OperationCanceledException()));
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
