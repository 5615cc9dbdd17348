using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// One provider API of the mock: it maps its routes and writes its own wire format, using the host's recording,
/// timing, scenario choice (<see cref="MockScenarios"/>) and fault framing.
/// </summary>
internal abstract class MockApi(MockUpstreamServer server)
{
    protected MockUpstreamServer Server => server;

    protected MockTiming Timing => server.Timing;

    protected static string[] ModelIds => MockUpstreamServer.ModelIds;

    /// <summary>Maps the API's routes.</summary>
    public abstract void Map(WebApplication app, bool record);

    /// <summary>The request's scenario: the header, else the marker in <paramref name="text"/>.</summary>
    protected static string? Scenario(HttpContext http, string text) => MockScenarios.Of(http, text);

    protected Task<JsonDocument> ReadAsync(HttpContext http, bool record) => server.ReadAsync(http, record);

    protected void Record(MockRequest request) => server.Record(request);

    protected Task DelayAsync(HttpContext http, TimeSpan delay) => server.DelayAsync(http, delay);

    protected Task WriteAnswerAsync(HttpContext http, string? scenario, Action<Utf8JsonWriter> body, bool indented = false, string contentType = "application/json") =>
        server.WriteAnswerAsync(http, scenario, body, indented, contentType);

    protected Task<bool> StreamFaultAsync(HttpContext http, string? scenario, string malformedEvent) => server.StreamFaultAsync(http, scenario, malformedEvent);

    protected Task EndFaultAsync(HttpContext http, string scenario) => server.EndFaultAsync(http, scenario);

    protected static Task WriteJson(HttpContext http, int status, Action<Utf8JsonWriter> body) => MockUpstreamServer.WriteJson(http, status, body);

    protected static Task Event(HttpContext http, Action<Utf8JsonWriter> body) => MockUpstreamServer.Event(http, body);

    protected static string ContentText(JsonElement content) => MockUpstreamServer.ContentText(content);

    protected static List<string> Split(string text) => MockUpstreamServer.Split(text);

    protected static string Escape(string s) => MockUpstreamServer.Escape(s);
}
