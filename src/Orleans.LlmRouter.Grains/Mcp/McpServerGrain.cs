using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Mcp;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Mcp;

/// <summary>
/// The single owner of one MCP server's breaker, rpm window and enablement for the whole cluster. Thin: the state
/// machines are the model providers' own (<see cref="CircuitBreaker"/>, <see cref="RateWindow"/>). Storage is written
/// only on transitions (enablement, breaker opening or closing); a storage failure is logged, not thrown.
/// </summary>
internal sealed partial class McpServerGrain(
    [PersistentState("mcp-server-control")] IPersistentState<McpServerControlState> control,
    ModelCatalog catalog,
    RouterClock clock,
    ILogger<McpServerGrain> logger) : Grain, IMcpServerGrain
{
    /// <summary>The error class of a call its caller cancelled (no verdict on the server).</summary>
    public const string CancelledClass = "cancelled";

    private McpServerDefinition _server = null!;
    private CircuitBreaker _breaker = null!;
    private RateWindow _window = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyString();
        _server = catalog.McpServers.GetValueOrDefault(id) ?? throw new InvalidOperationException($"MCP server '{id}' is not in the catalog.");
        _breaker = new CircuitBreaker(_server.Breaker);
        _window = new RateWindow(_server.Limits);
        if (control.RecordExists)
        {
            _breaker.Restore(control.State.State, control.State.OpenUntil);
        }

        return Task.CompletedTask;
    }

    private bool Enabled => _server.Enabled && !control.State.Disabled;

    public async Task<McpPermit> AcquireAsync()
    {
        if (!Enabled)
        {
            return new McpPermit(McpRefusal.Disabled, false, null);
        }

        var now = clock.UtcNow;
        var before = _breaker.State;
        var probe = !_breaker.AllowsTraffic;
        if (!_breaker.TryBeginProbe(now))
        {
            var retry = _breaker.OpenUntil is { } until && until > now ? until - now : (TimeSpan?)null;
            return new McpPermit(McpRefusal.CircuitOpen, false, retry);
        }

        if (_window.Grant(now, 1, 0).Requests == 0)
        {
            if (probe)
            {
                _breaker.ReleaseProbe();
            }

            return new McpPermit(McpRefusal.RateLimited, false, RateWindow.WindowEnd(now) - now);
        }

        if (before != _breaker.State)
        {
            await SaveAsync();
        }

        return new McpPermit(McpRefusal.None, probe, null);
    }

    public async Task ReportAsync(McpCallOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var before = _breaker.State;
        var now = clock.UtcNow;
        if (outcome.ErrorClass == CancelledClass)
        {
            if (outcome.WasProbe)
            {
                _breaker.ReleaseProbe(); // its caller went away: says nothing about the server
            }
        }
        else if (outcome.Success || (outcome.WasProbe && !outcome.CountsAsFailure))
        {
            // A probe that got any answer from the server (even a protocol error) shows it is reachable again.
            _breaker.RecordSuccess(now, outcome.WasProbe);
        }
        else if (outcome.CountsAsFailure)
        {
            _breaker.RecordFailure(now, outcome.ErrorClass ?? "unknown", outcome.WasProbe);
        }

        if (before != _breaker.State)
        {
            LogCircuit(logger, _server.Id, before.ToString(), _breaker.State.ToString());
            await SaveAsync();
        }
    }

    public Task<McpServerStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<McpServerStatus> SetEnabledAsync(bool enabled)
    {
        if (control.State.Disabled == !enabled)
        {
            return Status();
        }

        control.State.Disabled = !enabled;
        LogEnabled(logger, _server.Id, enabled);
        await SaveAsync();
        return Status();
    }

    private McpServerStatus Status() => new(
        _server.Id,
        Enabled,
        !_server.Enabled ? _server.DisabledReason : control.State.Disabled ? "disabled through the admin API" : null,
        _breaker.State.ToString().ToLowerInvariant(),
        _breaker.OpenUntil,
        _breaker.TotalSuccesses,
        _breaker.TotalFailures,
        _breaker.LastFailureAt,
        _breaker.LastFailureClass,
        _window.RequestsUsedAt(clock.UtcNow));

    private async Task SaveAsync()
    {
        control.State.State = _breaker.State;
        control.State.OpenUntil = _breaker.OpenUntil;
        try
        {
            await control.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSaveFailed(logger, ex, _server.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server}: circuit {From} -> {To}.")]
    private static partial void LogCircuit(ILogger logger, string server, string from, string to);

    [LoggerMessage(Level = LogLevel.Information, Message = "MCP server {Server}: enabled = {Enabled} (admin API).")]
    private static partial void LogEnabled(ILogger logger, string server, bool enabled);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server}: its control state could not be saved; it stays in memory.")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception, string server);
}
