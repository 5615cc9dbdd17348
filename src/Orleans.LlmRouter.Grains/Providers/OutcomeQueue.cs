using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// How one scope's calls from this silo ended, on their way to the scope's grain (which keeps the breaker's window),
/// and how many run now (reported to the grain for balancing).
/// </summary>
/// <remarks>
/// Concurrency: outcomes wait in a lock-free queue; sending goes one batch at a time (an async mutex), so a caller that
/// awaits a flush (a failure, a probe's end) returns once its outcome has reached the grain, even when a timer flush had
/// already taken it into its batch. The count of calls running is an interlocked counter.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never asked for holds nothing to release; background give-backs and flushes may still use it while the silo stops.")]
internal sealed class OutcomeQueue
{
    private const int MaxBatch = 1000;
    private readonly ConcurrentQueue<ProviderOutcome> _pending = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private int _running;

    /// <summary>Calls admitted through this scope from this silo and not yet completed (every call, not only slot holders).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>The <see cref="Running"/> count the grain last heard from this silo (part of the snapshot's cluster-wide sum).</summary>
    public int ReportedRunning { get; set; }

    public DateTimeOffset RunningReportedAt { get; set; }

    /// <summary>True for a deployment's scope: its running count is reported for balancing.</summary>
    public bool ReportsLoad { get; set; }

    public void CallStarted() => Interlocked.Increment(ref _running);

    public void CallEnded() => Interlocked.Decrement(ref _running);

    public void Add(ProviderOutcome outcome) => _pending.Enqueue(outcome);

    /// <summary>Sends the outcomes waiting; <paramref name="apply"/> receives the grain's answer (its new snapshot).</summary>
    public async Task FlushAsync(string scopeId, ScopeGrains grains, Action<ProviderSnapshot> apply, ILogger logger)
    {
        if (_pending.IsEmpty && _sending.CurrentCount == 1)
        {
            return;
        }

        await _sending.WaitAsync();
        try
        {
            while (!_pending.IsEmpty)
            {
                var batch = new List<ProviderOutcome>();
                while (batch.Count < MaxBatch && _pending.TryDequeue(out var o))
                {
                    batch.Add(o);
                }

                try
                {
                    apply(await grains.CallAsync(scopeId, g => g.ReportAsync(batch)));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    GateLog.GrainUnreachable(logger, scopeId, ex);
                    return;
                }
            }
        }
        finally
        {
            _sending.Release();
        }
    }
}
