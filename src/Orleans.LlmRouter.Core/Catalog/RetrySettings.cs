namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Retry policy for transient errors (per model).</summary>
public sealed record RetrySettings(int MaxAttempts = 3, TimeSpan? BaseDelay = null, TimeSpan? MaxDelay = null)
{
    /// <summary>The defaults: 3 attempts, backing off from 250 ms up to 20 s.</summary>
    public static RetrySettings Default { get; } = new();

    /// <summary><see cref="BaseDelay"/>, or 250 ms when it is not set.</summary>
    public TimeSpan Base => BaseDelay ?? TimeSpan.FromMilliseconds(250);

    /// <summary><see cref="MaxDelay"/>, or 20 s when it is not set.</summary>
    public TimeSpan Max => MaxDelay ?? TimeSpan.FromSeconds(20);
}
