namespace Orleans.LlmRouter.Ledger;

/// <summary>A time window of an audit: completed in [<see cref="From"/>, <see cref="To"/>), either bound open.</summary>
internal sealed record BalanceWindow(string Window, string? Key, DateTimeOffset? From, DateTimeOffset? To);
