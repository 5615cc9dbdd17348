using Microsoft.Extensions.Options;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>Validates the gateway's settings; each failure names its key (<c>LlmRouter:…</c>).</summary>
internal sealed class LlmRouterOptionsValidator : IValidateOptions<LlmRouterOptions>, IValidateOptions<LlmRouterStorageOptions>, IValidateOptions<LlmRouterClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmRouterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var role = options.Role.Replace("-", string.Empty, StringComparison.Ordinal);
        return Enum.TryParse<GatewayRole>(role, ignoreCase: true, out var r) && Enum.IsDefined(r) && !int.TryParse(role, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"LlmRouter:Role must be 'all' (silo and HTTP), 'silo' or 'frontend', not '{options.Role}'.");
    }

    public ValidateOptionsResult Validate(string? name, LlmRouterStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!options.Durable && !options.Storage.Equals("memory", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"LlmRouter:Storage must be 'memory' or 'postgres', not '{options.Storage}'.");
        }

        if (options.Durable && string.IsNullOrWhiteSpace(options.Postgres))
        {
            failures.Add("LlmRouter:Postgres (an Npgsql connection string) is required with LlmRouter:Storage=postgres or LlmRouter:Clustering=postgres.");
        }

        var mode = options.LedgerOutageMode.Replace("-", string.Empty, StringComparison.Ordinal);
        if (!Enum.TryParse<Ledger.LedgerOutageMode>(mode, ignoreCase: true, out var m) || !Enum.IsDefined(m) || int.TryParse(mode, out _))
        {
            failures.Add($"LlmRouter:LedgerOutageMode must be 'spool' or 'fail-closed', not '{options.LedgerOutageMode}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public ValidateOptionsResult Validate(string? name, LlmRouterClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!options.PostgresClustering && !options.Clustering.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"LlmRouter:Clustering must be 'localhost' or 'postgres', not '{options.Clustering}'.");
        }

        if (options.KubernetesHosting && !options.PostgresClustering)
        {
            failures.Add("LlmRouter:KubernetesHosting=true needs LlmRouter:Clustering=postgres (membership stays on PostgreSQL).");
        }

        Port(failures, "SiloPort", options.SiloPort);
        Port(failures, "GatewayPort", options.GatewayPort);
        Required(failures, "ClusterId", options.ClusterId);
        Required(failures, "ServiceId", options.ServiceId);
        Duration(failures, "LlmRouter:GatewayListRefreshPeriod", options.GatewayListRefreshPeriod);
        Duration(failures, "LlmRouter:ResponseTimeout", options.ResponseTimeout);
        var membership = options.Membership ?? new MembershipOptions();
        Duration(failures, "LlmRouter:Membership:ProbeTimeout", membership.ProbeTimeout);
        Duration(failures, "LlmRouter:Membership:TableRefreshTimeout", membership.TableRefreshTimeout);
        Duration(failures, "LlmRouter:Membership:IAmAliveTablePublishTimeout", membership.IAmAliveTablePublishTimeout);
        Count(failures, "LlmRouter:Membership:NumMissedProbesLimit", membership.NumMissedProbesLimit);
        Count(failures, "LlmRouter:Membership:NumVotesForDeathDeclaration", membership.NumVotesForDeathDeclaration);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Port(List<string> failures, string key, int port)
    {
        if (port is < 1 or > 65535)
        {
            failures.Add($"LlmRouter:{key} must be a port from 1 to 65535, not {port}.");
        }
    }

    private static void Required(List<string> failures, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.Add($"LlmRouter:{key} must not be empty.");
        }
    }

    private static void Duration(List<string> failures, string key, string? text)
    {
        if (!LlmRouterClusterOptions.TryParseDuration(text, out _))
        {
            failures.Add($"{key} must be a positive duration (seconds, or hh:mm:ss), not '{text}'.");
        }
    }

    private static void Count(List<string> failures, string key, int? value)
    {
        if (value is < 1)
        {
            failures.Add($"{key} must be a positive integer, not '{value}'.");
        }
    }
}
