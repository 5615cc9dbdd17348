using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Maps a call's <see cref="UsageRecord"/> to its ledger row under the tenant's sequence number and the writer's fence epoch.</summary>
internal static class LedgerRows
{
    public static LedgerRecord From(UsageRecord record, string tenantId, long seq, long epoch) => new()
    {
        RequestId = record.RequestId,
        TenantId = tenantId,
        TenantSeq = seq,
        Epoch = epoch,
        RunId = record.RunId,
        Tags = record.Tags,
        Action = record.Action,
        Strategy = record.Strategy,
        Provider = record.Provider,
        Model = record.Model,
        Deployment = record.Deployment,
        TraceId = record.TraceId,
        Kind = record.Kind ?? LedgerRecord.ModelCall,
        ProjectId = record.ProjectId,
        KeyId = record.KeyId,
        EndUser = record.EndUser,
        Cache = record.Cache,
        SavedUsd = record.SavedUsd,
        AttemptLog = record.AttemptLog?.Select(a => new LedgerAttempt(a.Model, a.Provider, a.Deployment, a.ErrorClass?.Name(), Math.Round(a.LatencyMs, 3))).ToArray(),
        PromptTokens = record.Usage.PromptTokens,
        CompletionTokens = record.Usage.CompletionTokens,
        CachedTokens = record.Usage.CachedTokens,
        ReasoningTokens = record.Usage.ReasoningTokens,
        CacheWriteTokens = record.Usage.CacheWriteTokens,
        CacheWrite1hTokens = record.Usage.CacheWrite1hTokens,
        UsageEstimated = record.Usage.Estimated,
        CostUsd = record.CostUsd,
        LatencyMs = record.LatencyMs,
        TimeToFirstTokenMs = record.TimeToFirstTokenMs,
        Success = record.Success,
        ErrorClass = record.ErrorClass?.Name(),
        Attempts = record.Attempts,
        StartedAt = record.StartedAt,
        CompletedAt = record.CompletedAt,
    };
}
