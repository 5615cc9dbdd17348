namespace Orleans.LlmRouter.MockUpstream;

/// <summary>A request the mock received (for tests to assert what an adapter sent).</summary>
public sealed record MockRequest(string Path, IReadOnlyDictionary<string, string> Headers, string Body, string Query = "");
