using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// The ledger's instruments on the product meter (<see cref="MeterName"/>): commit latency and batch size of the
/// group commit, and gauges of the spool depth and the rows this process quarantined. Nothing is recorded, and no tag
/// list is built, while no listener is attached.
/// </summary>
internal sealed class LedgerMetrics : IDisposable
{
    /// <summary>The product meter's name (the same as the router's).</summary>
    public const string MeterName = "Orleans.LlmRouter";

    private readonly Meter _meter;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _batchSize;

    public LedgerMetrics(Func<int> spoolDepth, Func<long> quarantined)
    {
        _meter = new Meter(MeterName);
        _commitDuration = _meter.CreateHistogram<double>("llmrouter.ledger.commit.duration", "s", "Time of one group commit of ledger rows to PostgreSQL (or the spool).");
        _batchSize = _meter.CreateHistogram<int>("llmrouter.ledger.commit.batch_size", "{row}", "Rows in one group commit.");
        _meter.CreateObservableGauge("llmrouter.ledger.spool.depth", spoolDepth, "{row}", "Ledger rows waiting in the local spool for PostgreSQL.");
        _meter.CreateObservableGauge("llmrouter.ledger.quarantined", quarantined, "{row}", "Ledger rows this process quarantined since it started.");
    }

    /// <summary>The meter (tests observe one ledger's instruments by it).</summary>
    internal Meter Meter => _meter;

    public void Committed(long startedTimestamp, int rows, bool spooled)
    {
        if (_commitDuration.Enabled)
        {
            _commitDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>("llmrouter.ledger.spooled", spooled));
        }

        if (_batchSize.Enabled)
        {
            _batchSize.Record(rows);
        }
    }

    public void Dispose() => _meter.Dispose();
}
