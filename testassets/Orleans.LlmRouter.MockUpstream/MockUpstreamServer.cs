using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// A wire-faithful mock of the LLM provider APIs on 127.0.0.1, one class per API: <see cref="OpenAiMockApi"/> (OpenAI
/// Chat Completions, embeddings, models), <see cref="AzureOpenAiMockApi"/>, <see cref="AnthropicMockApi"/>,
/// <see cref="BedrockMockApi"/>, <see cref="GeminiMockApi"/> and <see cref="OllamaMockApi"/>. The scenarios every API
/// understands (chosen by the <c>x-mock-scenario</c> header or a <c>[mock:NAME]</c> marker in the last user message)
/// are the one table <see cref="MockScenarios"/>; this class holds the host, the recorded requests, the timing and the
/// framing helpers the APIs share (faults of a broken upstream written in each API's own framing).
/// </summary>
public sealed class MockUpstreamServer : IAsyncDisposable
{
    /// <summary>The AWS access key id the Bedrock surface accepts (SigV4).</summary>
    public const string AwsAccessKeyId = "AKIAMOCKUPSTREAM0001";

    /// <summary>The AWS secret key the Bedrock surface verifies signatures with: must never show in a log line.</summary>
    public const string AwsSecretAccessKey = "mockSECRET/upstream+AWS/kq8Lr2Vb7XcN4tZ1";

    /// <summary>The Entra ID bearer token the Azure OpenAI surface accepts instead of an api-key.</summary>
    public const string AzureEntraToken = "mock-entra-access-token-2c91";

    /// <summary>The model ids the OpenAI-shaped model lists name.</summary>
    internal static readonly string[] ModelIds = ["mock-small", "mock-large", "mock-embed"];

    /// <summary>How long a stalled answer stays silent: longer than any client waits.</summary>
    private static readonly TimeSpan StallFor = TimeSpan.FromMinutes(5);

    /// <summary>How long a reset waits for the part of the body already written to reach the client.</summary>
    private static readonly TimeSpan ResetAfter = TimeSpan.FromMilliseconds(250);
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<MockRequest> _requests = new();
    private int _aborted;

    private MockUpstreamServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public MockTiming Timing { get; set; } = MockTiming.Instant;

    /// <summary>Requests received, oldest first.</summary>
    public IReadOnlyList<MockRequest> Requests => _requests.ToArray();

    /// <summary>How many requests the client aborted while the mock was still answering.</summary>
    public int AbortedRequests => Volatile.Read(ref _aborted);

    public static async Task<MockUpstreamServer> StartAsync(string url = "http://127.0.0.1:0", bool record = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new MockUpstreamServer(app);
        var openAi = new OpenAiMockApi(server);
        var apis = new MockApi[] { openAi, new AzureOpenAiMockApi(server, openAi), new AnthropicMockApi(server), new BedrockMockApi(server), new GeminiMockApi(server), new OllamaMockApi(server) };
        foreach (var api in apis)
        {
            api.Map(app, record);
        }

        await app.StartAsync();
        server.BaseAddress = new Uri(app.Urls.First());

        // One request builds the routing table (six APIs' routes) before a test's first call, which may give the mock
        // only a few hundred milliseconds (a caller that cancels, a short timeout). It is not recorded.
        using (var warm = new HttpClient { BaseAddress = server.BaseAddress })
        {
            using var models = await warm.GetAsync(new Uri("v1/models", UriKind.Relative));
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Keeps a request for the tests (the last 1000).</summary>
    internal void Record(MockRequest request)
    {
        _requests.Enqueue(request);
        while (_requests.Count > 1000 && _requests.TryDequeue(out _))
        {
        }
    }

    internal async Task<JsonDocument> ReadAsync(HttpContext http, bool record)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        if (record)
        {
            Record(new MockRequest(http.Request.Path, http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal), body, http.Request.QueryString.Value ?? string.Empty));
        }

        return JsonDocument.Parse(body);
    }

    internal async Task DelayAsync(HttpContext http, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _aborted);
            throw;
        }
    }

    /// <summary>
    /// Writes a 200 JSON answer, or the fault its scenario asks for: malformed_json (the first half of the body),
    /// stall (half the body, then silence until the client gives up), reset (half the body, then the connection aborted).
    /// </summary>
    internal async Task WriteAnswerAsync(HttpContext http, string? scenario, Action<Utf8JsonWriter> body, bool indented = false, string contentType = "application/json")
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = contentType;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        var json = buffer.WrittenMemory;
        if (scenario is not ("malformed_json" or "stall" or "reset"))
        {
            await http.Response.Body.WriteAsync(json, http.RequestAborted);
            return;
        }

        await http.Response.Body.WriteAsync(json[..(json.Length / 2)], http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
        await EndFaultAsync(http, scenario);
    }

    /// <summary>
    /// The fault a stream's scenario asks for, at its third piece: truncated (the response ends cleanly without the
    /// terminal event), stall, reset, or malformed_json (<paramref name="malformedEvent"/>, one event of the API's
    /// framing whose JSON is cut). True when the handler must stop there.
    /// </summary>
    internal async Task<bool> StreamFaultAsync(HttpContext http, string? scenario, string malformedEvent)
    {
        switch (scenario)
        {
            case "truncated":
                return true;
            case "malformed_json":
                await http.Response.WriteAsync(malformedEvent, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
                return true;
            case "stall" or "reset":
                await EndFaultAsync(http, scenario);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// stall: nothing more until the client gives up; reset: the connection is aborted (RST, no terminating chunk).
    /// Kestrel drops output it has not sent yet when the connection is aborted, so the part already written gets a
    /// moment to leave first: the client sees the start of the body, then the reset.
    /// </summary>
    internal async Task EndFaultAsync(HttpContext http, string scenario)
    {
        if (scenario == "reset")
        {
            await Task.Delay(ResetAfter, http.RequestAborted);
            http.Abort();
            return;
        }

        if (scenario == "stall")
        {
            await DelayAsync(http, StallFor);
        }
    }

    internal static async Task WriteJson(HttpContext http, int status, Action<Utf8JsonWriter> body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    internal static async Task Event(HttpContext http, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write("data: "u8);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        buffer.Write("\n\n"u8);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    internal static string ContentText(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString() ?? string.Empty,
        JsonValueKind.Array => string.Concat(content.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString())),
        _ => string.Empty,
    };

    internal static List<string> Split(string text)
    {
        var parts = new List<string>();
        for (var i = 0; i < text.Length; i += 8)
        {
            parts.Add(text.Substring(i, Math.Min(8, text.Length - i)));
        }

        return parts;
    }

    internal static string Escape(string s) => JsonEncodedText.Encode(s).ToString();
}
