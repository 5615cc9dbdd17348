namespace Orleans.LlmRouter.MockUpstream;

/// <summary>Timing of the mock's answers.</summary>
public sealed record MockTiming(TimeSpan Latency, TimeSpan TimeToFirstToken, TimeSpan ChunkDelay)
{
    public static MockTiming Instant { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}
