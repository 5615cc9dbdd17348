namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// The one scenario table of the mock: every scenario name, what it does and which APIs serve it, and how a request
/// chooses one (the <c>x-mock-scenario</c> header, else a <c>[mock:NAME]</c> marker in the last user message). Each API
/// class writes a scenario in its own wire format; a request without a scenario gets a plain good answer.
/// </summary>
public static class MockScenarios
{
    public const string OpenAi = "openai";
    public const string Azure = "azure_openai";
    public const string Anthropic = "anthropic";
    public const string Bedrock = "bedrock";
    public const string Gemini = "gemini";
    public const string Ollama = "ollama";

    private static readonly string[] Every = [OpenAi, Azure, Anthropic, Bedrock, Gemini, Ollama];
    private static readonly string[] OpenAiShaped = [OpenAi, Azure];

    /// <summary>Every scenario, by name.</summary>
    public static IReadOnlyDictionary<string, MockScenario> All { get; } = new MockScenario[]
    {
        // Errors
        new("rate_limit", MockScenarioKind.Error, "429 with retry-after: 2 (Bedrock: ThrottlingException)", Every),
        new("rate_limit_ms", MockScenarioKind.Error, "429 with retry-after-ms: 1500", [OpenAi, Azure, Anthropic, Gemini]),
        new("rate_limit_date", MockScenarioKind.Error, "429 with retry-after as an HTTP-date", [OpenAi, Azure, Anthropic, Gemini]),
        new("rate_limit_retryinfo", MockScenarioKind.Error, "429 RESOURCE_EXHAUSTED with a RetryInfo detail", [Gemini]),
        new("server", MockScenarioKind.Error, "500", Every),
        new("no_retry", MockScenarioKind.Error, "500 with x-should-retry: false", OpenAiShaped),
        new("overloaded", MockScenarioKind.Error, "503 (Anthropic: 529 overloaded_error)", Every),
        new("deadline", MockScenarioKind.Error, "504 DEADLINE_EXCEEDED", [Gemini]),
        new("auth", MockScenarioKind.Error, "401 (Gemini: 400 'API key not valid'); OpenAI, Anthropic and Ollama echo the key as careless proxies do", [OpenAi, Azure, Anthropic, Gemini, Ollama]),
        new("unauthenticated", MockScenarioKind.Error, "401 UNAUTHENTICATED", [Gemini]),
        new("echo_key", MockScenarioKind.Error, "500 whose message echoes the key", [Gemini]),
        new("permission", MockScenarioKind.Error, "403 (Bedrock: AccessDeniedException)", [OpenAi, Azure, Anthropic, Bedrock, Gemini]),
        new("precondition", MockScenarioKind.Error, "400 FAILED_PRECONDITION (location not supported)", [Gemini]),
        new("not_found", MockScenarioKind.Error, "404 model not found", Every),
        new("bad_request", MockScenarioKind.Error, "400 invalid request (Bedrock: ValidationException)", Every),
        new("context_length", MockScenarioKind.Error, "400 with the API's context-length message or code", Every),
        new("content_policy", MockScenarioKind.Error, "400 content_policy_violation (Gemini: a blocked prompt)", [OpenAi, Azure, Gemini]),
        new("too_large", MockScenarioKind.Error, "413 request_too_large", [Anthropic]),
        new("content_filter_prompt", MockScenarioKind.Error, "400 content_filter with innererror.content_filter_result", [Azure]),
        new("throttling", MockScenarioKind.Error, "429 ThrottlingException", [Bedrock]),
        new("quota", MockScenarioKind.Error, "400 ServiceQuotaExceededException", [Bedrock]),
        new("unavailable", MockScenarioKind.Error, "503 ServiceUnavailableException", [Bedrock]),
        new("model_timeout", MockScenarioKind.Error, "408 ModelTimeoutException", [Bedrock]),
        new("validation", MockScenarioKind.Error, "400 ValidationException", [Bedrock]),
        new("access_denied", MockScenarioKind.Error, "403 AccessDeniedException", [Bedrock]),
        new("slow", MockScenarioKind.Error, "no answer until the caller gives up", [OpenAi, Azure, Anthropic, Gemini, Ollama]),

        // Broken upstreams, each in its API's own framing
        new("malformed_json", MockScenarioKind.Fault, "a 200 whose JSON is cut in half; in a stream, an event cut mid-JSON after two chunks", Every),
        new("missing_field", MockScenarioKind.Fault, "a 200 without the API's required field", Every),
        new("wrong_type", MockScenarioKind.Fault, "the required field with the wrong JSON type", Every),
        new("truncated", MockScenarioKind.Fault, "a stream that ends cleanly after two chunks without its terminal event", Every),
        new("stall", MockScenarioKind.Fault, "headers and half a body, or two chunks, then silence", Every),
        new("reset", MockScenarioKind.Fault, "half a body, or two chunks, then the connection aborted", Every),
        new("bad_crc", MockScenarioKind.Fault, "an event-stream frame whose CRC is wrong, after two chunks", [Bedrock]),

        // Variants of a good answer
        new("tool_call", MockScenarioKind.Answer, "a tool call (also whenever tools are sent and the last turn is not a tool result)", Every),
        new("tool_call_no_id", MockScenarioKind.Answer, "tool calls without ids", [Ollama]),
        new("midstream", MockScenarioKind.Answer, "an error event after two chunks of a 200 stream (Bedrock: modelStreamErrorException)", Every),
        new("midstream_throttle", MockScenarioKind.Answer, "a throttlingException event after two chunks", [Bedrock]),
        new("no_usage", MockScenarioKind.Answer, "a stream without its usage chunk", OpenAiShaped),
        new("cached", MockScenarioKind.Answer, "half the prompt read from the cache", [OpenAi, Azure, Gemini, Ollama]),
        new("cache", MockScenarioKind.Answer, "cache reads and writes in the usage", [Anthropic, Bedrock, Gemini]),
        new("deepseek_cache", MockScenarioKind.Answer, "DeepSeek's prompt_cache_hit/miss usage fields", OpenAiShaped),
        new("reasoning", MockScenarioKind.Answer, "reasoning tokens in the usage", [OpenAi, Azure, Gemini]),
        new("thinking", MockScenarioKind.Answer, "thought parts and thoughts tokens", [Gemini]),
        new("refusal", MockScenarioKind.Answer, "stop_reason refusal", [Anthropic]),
        new("length", MockScenarioKind.Answer, "the answer cut at max tokens", [Anthropic, Ollama]),
        new("safety", MockScenarioKind.Answer, "a candidate finished by SAFETY", [Gemini]),
        new("content_filter_completion", MockScenarioKind.Answer, "a choice finished by content_filter with its content_filter_results (also streamed)", [Azure]),
    }.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>The scenario the request's <c>x-mock-scenario</c> header names, or null.</summary>
    public static string? FromHeader(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Request.Headers["x-mock-scenario"].FirstOrDefault();
    }

    /// <summary>The request's scenario: the header, else the <c>[mock:NAME]</c> marker in <paramref name="text"/> (the last user message).</summary>
    public static string? Of(HttpContext http, string text) => FromHeader(http) ?? Marker(text);

    /// <summary>The name in the first <c>[mock:NAME]</c> marker of <paramref name="text"/>, or null.</summary>
    public static string? Marker(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var i = text.IndexOf("[mock:", StringComparison.Ordinal);
        if (i < 0)
        {
            return null;
        }

        var end = text.IndexOf(']', i);
        return end > i ? text[(i + 6)..end] : null;
    }
}
