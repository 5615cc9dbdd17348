using System.Net;
using System.Text.Json;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Tests.SurfaceHttp;

namespace Orleans.LlmRouter.Host.Tests.Anthropic;

/// <summary>
/// <c>/v1/messages</c> on the wire, with a raw HttpClient: the message object, the named events of a stream in their
/// order, the warning header, and Anthropic's error shape and status for each error type the gateway gives.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AnthropicWireTests(GatewayFixture gateway)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private HttpClient Http(string? key = GatewayFixture.DevKey) => SurfaceHttp.Client(gateway.BaseAddress, key, anthropicHeader: true);

    private static void AssertError(HttpStatusCode expected, string type, HttpResponseMessage response, JsonElement body)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetProperty("message").GetString()));
        Assert.True(response.Headers.Contains("request-id"));
    }

    [Fact]
    public async Task A_message_has_content_blocks_stop_reason_and_usage_and_is_one_ledger_row()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages?beta=true", Json("""
            {"model":"sim-small","max_tokens":256,"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"hello over the messages API"}]}],
             "metadata":{"user_id":"u-1"},"temperature":0.5}
            """), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.Equal("message", body.GetProperty("type").GetString());
        Assert.Equal("assistant", body.GetProperty("role").GetString());
        Assert.Equal("sim-small", body.GetProperty("model").GetString());
        Assert.StartsWith("msg_", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        var block = Assert.Single(body.GetProperty("content").EnumerateArray());
        Assert.Equal("text", block.GetProperty("type").GetString());
        Assert.Contains("hello over the messages API", block.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("end_turn", body.GetProperty("stop_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt64() > 0);
        Assert.True(usage.GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal("sim-small", response.Headers.GetValues("X-LlmRouter-Model").Single());
        Assert.Contains(response.Headers.GetValues("X-LlmRouter-Warning"), w => w.Contains("cache_control", StringComparison.Ordinal));

        // One ledger row, with the same fields a chat completion gets.
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var ledger = Assert.IsType<InMemoryLedger>(gateway.Services.GetService(typeof(ILedger)));
        LedgerRecord? row = null;
        await foreach (var r in ledger.ReadAfterAsync("dev", 0, Cancel))
        {
            row = r.RequestId == requestId ? r : row;
        }

        Assert.NotNull(row);
        Assert.Equal(("sim-small", "simulated", true), (row!.Model, row.Provider, row.Success));
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64(), row.PromptTokens);
        Assert.Equal(usage.GetProperty("output_tokens").GetInt64(), row.CompletionTokens);
        Assert.True(row.CostUsd > 0);
    }

    [Fact]
    public async Task A_stream_sends_the_named_events_in_anthropic_order()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""{"model":"sim-small","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"stream the messages API please"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        foreach (var (name, data) in events)
        {
            Assert.Equal(name, data.GetProperty("type").GetString()); // the event name is the data's type
        }

        var names = events.Select(e => e.Event).ToList();
        Assert.Equal(["message_start", "ping", "content_block_start"], names.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names.TakeLast(3));
        Assert.All(names.Skip(3).SkipLast(3), n => Assert.Equal("content_block_delta", n));
        Assert.True(names.Count > 7);
        var text = string.Concat(events.Where(e => e.Event == "content_block_delta").Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Contains("stream the messages API please", text, StringComparison.Ordinal);
        var delta = events.Single(e => e.Event == "message_delta").Data;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.True(delta.GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);
        Assert.True(delta.GetProperty("usage").GetProperty("input_tokens").GetInt64() > 0);
    }

    [Fact]
    public async Task A_streamed_tool_call_is_a_tool_use_block_with_input_json_delta()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""
            {"model":"sim-small","max_tokens":256,"stream":true,"tool_choice":{"type":"any"},
             "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
             "messages":[{"role":"user","content":"weather in Lyon?"}]}
            """), Cancel);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        var start = events.Single(e => e.Event == "content_block_start").Data.GetProperty("content_block");
        Assert.Equal(("tool_use", "get_weather"), (start.GetProperty("type").GetString(), start.GetProperty("name").GetString()));
        var json = events.Single(e => e.Event == "content_block_delta").Data.GetProperty("delta");
        Assert.Equal("input_json_delta", json.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(json.GetProperty("partial_json").GetString()!).RootElement.ValueKind);
        Assert.Equal("tool_use", events.Single(e => e.Event == "message_delta").Data.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task Thinking_and_unknown_betas_are_accepted_with_a_warning_and_bearer_keys_work()
    {
        using var http = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = Json("""{"model":"sim-small","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"top_k":5,"messages":[{"role":"user","content":"think"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"ok"}]},{"role":"user","content":"again"}]}"""),
        };
        request.Headers.Add("anthropic-beta", "interleaved-thinking-2025-05-14,some-future-beta");
        using var response = await http.SendAsync(request, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var warnings = response.Headers.GetValues("X-LlmRouter-Warning").ToList();
        Assert.Contains(warnings, w => w.Contains("model 'sim-small' does not take it", StringComparison.Ordinal)); // sim-small has no reasoning capability
        Assert.Contains(warnings, w => w.StartsWith("top_k", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Document_blocks_a_pdf_url_goes_on_as_sent_and_a_plain_text_document_is_text_for_any_model()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        using var byUrl = await http.PostAsync("/v1/messages", Json($$$"""
            {"model":"mock-claude","max_tokens":64,"messages":[{"role":"user","content":[
              {"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"},"title":"Spec","citations":{"enabled":true},"cache_control":{"type":"ephemeral"}},
              {"type":"text","text":"what does it say {{{tag}}}"}]}]}
            """), Cancel);
        Assert.Equal(HttpStatusCode.OK, byUrl.StatusCode);
        Assert.Contains(byUrl.Headers.GetValues("X-LlmRouter-Warning"), w => w.Contains("citations", StringComparison.Ordinal));
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal)).Body))
        {
            var document = sent.RootElement.GetProperty("messages")[0].GetProperty("content")[0];
            Assert.Equal(("document", "url", "https://example.com/spec.pdf", "Spec"), (document.GetProperty("type").GetString(), document.GetProperty("source").GetProperty("type").GetString(), document.GetProperty("source").GetProperty("url").GetString(), document.GetProperty("title").GetString()));
            Assert.Equal("ephemeral", document.GetProperty("cache_control").GetProperty("type").GetString());
            Assert.False(document.TryGetProperty("citations", out _));
        }

        using var text = await http.PostAsync("/v1/messages", Json($$"""
            {"model":"mock-gpt","max_tokens":64,"messages":[{"role":"user","content":[
              {"type":"document","source":{"type":"text","media_type":"text/plain","data":"the plain body"},"title":"Notes"},
              {"type":"text","text":"and this {{tag}}"}]}]}
            """), Cancel);
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("and this " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.Contains("Notes\n\nthe plain body", sent.RootElement.GetProperty("messages")[0].GetProperty("content").ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"type":"document","source":{"type":"base64","media_type":"application/msword","data":"JVBERi0xLjQK"}}""", "media_type")]
    [InlineData("""{"type":"document","source":{"type":"url","url":"file:///etc/passwd"}}""", "source.url")]
    [InlineData("""{"type":"document","source":{"type":"file","file_id":"file_123"}}""", "Files API")]
    [InlineData("""{"type":"document"}""", "source")]
    public async Task A_malformed_document_block_is_400_naming_the_field(string block, string mention)
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json($$"""{"model":"mock-claude","max_tokens":10,"messages":[{"role":"user","content":[{{block}},{"type":"text","text":"x"}]}]}"""), Cancel);
        var error = await ReadJsonAsync(response);
        AssertError(HttpStatusCode.BadRequest, "invalid_request_error", response, error);
        Assert.Contains(mention, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Count_tokens_counts_without_calling_a_model()
    {
        using var http = Http();
        using var small = await http.PostAsync("/v1/messages/count_tokens", Json("""{"model":"claude-sonnet-4-5-20250929","messages":[{"role":"user","content":"count me"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        var few = (await ReadJsonAsync(small)).GetProperty("input_tokens").GetInt64();
        using var large = await http.PostAsync("/v1/messages/count_tokens", Json($$"""{"model":"sim-small","system":"{{string.Join(' ', Enumerable.Repeat("word", 400))}}","messages":[{"role":"user","content":"count me"}]}"""), Cancel);
        var many = (await ReadJsonAsync(large)).GetProperty("input_tokens").GetInt64();
        Assert.True(few > 0 && many > few + 300, $"{few} then {many}");

        using var unknown = await http.PostAsync("/v1/messages/count_tokens", Json("""{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}"""), Cancel);
        AssertError(HttpStatusCode.NotFound, "not_found_error", unknown, await ReadJsonAsync(unknown));
    }

    [Theory]
    [InlineData("""{"model":"sim-small","messages":[{"role":"user","content":"no max_tokens"}]}""", "max_tokens")]
    [InlineData("""{"model":"sim-small","max_tokens":10,"messages":[{"role":"robot","content":"x"}]}""", "role")]
    [InlineData("""{"model":"sim-small","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"@@@"}}]}]}""", "base64")]
    [InlineData("not json", "JSON")]
    public async Task An_invalid_body_is_400_invalid_request_error(string body, string mention)
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json(body), Cancel);
        var error = await ReadJsonAsync(response);
        AssertError(HttpStatusCode.BadRequest, "invalid_request_error", response, error);
        Assert.Contains(mention, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_missing_and_admin_keys_are_401_authentication_error_and_403_permission_error()
    {
        const string body = """{"model":"sim-small","max_tokens":10,"messages":[{"role":"user","content":"x"}]}""";
        using var wrong = Http("sk-wrong");
        using var r1 = await wrong.PostAsync("/v1/messages", Json(body), Cancel);
        AssertError(HttpStatusCode.Unauthorized, "authentication_error", r1, await ReadJsonAsync(r1));

        using var none = Http(null);
        using var r2 = await none.PostAsync("/v1/messages/count_tokens", Json(body), Cancel);
        AssertError(HttpStatusCode.Unauthorized, "authentication_error", r2, await ReadJsonAsync(r2));

        using var admin = Http(Admin.AdminEndpointsTests.AdminKey);
        using var r3 = await admin.PostAsync("/v1/messages", Json(body), Cancel);
        AssertError(HttpStatusCode.Forbidden, "permission_error", r3, await ReadJsonAsync(r3));
    }

    [Fact]
    public async Task An_unknown_model_is_404_not_found_error_and_an_oversized_body_413_request_too_large()
    {
        using var http = Http();
        using var missing = await http.PostAsync("/v1/messages", Json("""{"model":"claude-none","max_tokens":10,"messages":[{"role":"user","content":"x"}]}"""), Cancel);
        AssertError(HttpStatusCode.NotFound, "not_found_error", missing, await ReadJsonAsync(missing));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new ByteArrayContent(new byte[(16 * 1024 * 1024) + 1]) };
        request.Headers.ExpectContinue = true; // refused before the body is sent
        request.Content.Headers.ContentType = new("application/json");
        using var tooLarge = await http.SendAsync(request, Cancel);
        AssertError(HttpStatusCode.RequestEntityTooLarge, "request_too_large", tooLarge, await ReadJsonAsync(tooLarge));
    }

    [Fact]
    public async Task A_budget_exceeded_is_402_billing_error_with_the_budget_fields_and_a_tenant_limit_429_rate_limit_error()
    {
        var (_, key) = await CreateTenantAsync(gateway.BaseAddress, new { lifetimeTokens = 130 });
        using var http = Http(key);
        const string body = """{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"spend"}]}""";
        using var first = await http.PostAsync("/v1/messages", Json(body), Cancel);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var refused = await http.PostAsync("/v1/messages", Json(body), Cancel);
        var error = await ReadJsonAsync(refused);
        AssertError(HttpStatusCode.PaymentRequired, "billing_error", refused, error);
        var e = error.GetProperty("error");
        Assert.Equal(("budget_exceeded", "lifetime", "tokens", 130L), (e.GetProperty("code").GetString(), e.GetProperty("window").GetString(), e.GetProperty("unit").GetString(), e.GetProperty("limit").GetInt64()));
        Assert.True(e.GetProperty("requested").GetInt64() > 0);
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());

        var (_, limitedKey) = await CreateTenantAsync(gateway.BaseAddress, requestsPerMinute: 1);
        using var limited = Http(limitedKey);
        using var ok = await limited.PostAsync("/v1/messages", Json(body), Cancel);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var tooMany = await limited.PostAsync("/v1/messages", Json(body), Cancel);
        AssertError(HttpStatusCode.TooManyRequests, "rate_limit_error", tooMany, await ReadJsonAsync(tooMany));
        Assert.True(tooMany.Headers.RetryAfter is not null);
    }

    /// <summary>The exact error object: <c>{"type":"error","error":{"type":…,"message":…}}</c> and nothing else.</summary>
    private static string AssertErrorShape(JsonElement body, string type)
    {
        Assert.Equal(["type", "error"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", body.GetProperty("type").GetString());
        var error = body.GetProperty("error");
        Assert.Equal(["type", "message"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal(type, error.GetProperty("type").GetString());
        return error.GetProperty("message").GetString()!;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_model_of_the_chain_failing_is_500_api_error_before_any_stream_byte(bool stream)
    {
        // Both models of mock_fail_chain answer 500 (retried once each), so the route fails before anything is written:
        // a stream too is answered with the plain error response, not with events.
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json($$"""{"model":"action:mock_fail_chain","max_tokens":64,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"[mock:server] fail everywhere"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains("request-id"));
        var message = AssertErrorShape(await ReadJsonAsync(response), "api_error");
        Assert.Contains("mock-gpt@mock: server", message, StringComparison.Ordinal);
        Assert.Contains("mock-reasoner@mock: server", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_model_rate_limited_upstream_is_529_overloaded_error()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""{"model":"mock-rl-msg","max_tokens":64,"messages":[{"role":"user","content":"[mock:rate_limit] busy"}]}"""), Cancel);
        Assert.Equal((HttpStatusCode)529, response.StatusCode);
        Assert.Equal("true", response.Headers.GetValues("x-should-retry").Single()); // the Anthropic SDKs retry it
        var message = AssertErrorShape(await ReadJsonAsync(response), "overloaded_error");
        Assert.Contains("mock-rl-msg@mockrlmsg: rate_limited", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failure_after_the_first_byte_is_an_error_event_in_anthropic_shape_after_a_200()
    {
        // Committed once message_start is out: no fallback, the stream ends with event: error (api_error) and no message_stop.
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""{"model":"action:mock_fail_chain","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"[mock:midstream] go"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("mock-gpt", response.Headers.GetValues("X-LlmRouter-Model").Single()); // no fallback to mock-reasoner
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal(["message_start", "ping", "content_block_start"], events.Take(3).Select(e => e.Event));
        Assert.Equal(["content_block_stop", "error"], events.TakeLast(2).Select(e => e.Event));
        var (_, data) = events[^1];
        AssertErrorShape(data, "api_error");
        Assert.DoesNotContain(events, e => e.Event is "message_delta" or "message_stop");
    }

    [Fact]
    public async Task An_upstream_overloaded_after_the_first_byte_is_an_overloaded_error_event()
    {
        // The Anthropic mock sends overloaded_error mid-stream: the gateway relays it as the type SDKs retry.
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""{"model":"mock-claude","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"[mock:midstream] go"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("message_start", events[0].Event);
        Assert.Equal("error", events[^1].Event);
        AssertErrorShape(events[^1].Data, "overloaded_error");
    }

    [Fact]
    public async Task An_upstream_failure_mid_stream_ends_the_stream_with_an_error_event()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/messages", Json("""{"model":"mock-gpt","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"[mock:midstream] go"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("message_start", events[0].Event);
        Assert.Contains(events, e => e.Event == "content_block_delta");
        var (name, data) = events[^1];
        Assert.Equal("error", name);
        Assert.Equal("error", data.GetProperty("type").GetString());
        Assert.Equal("api_error", data.GetProperty("error").GetProperty("type").GetString());
        Assert.DoesNotContain(events, e => e.Event == "message_stop");
    }

    [Fact]
    public async Task Thinking_reaches_a_reasoning_model_as_its_own_parameter_and_no_other()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        using var claude = await http.PostAsync("/v1/messages", Json($$"""{"model":"mock-claude","max_tokens":4000,"temperature":0.5,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"think {{tag}}"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, claude.StatusCode);
        Assert.False(claude.Headers.Contains("X-LlmRouter-Warning"));
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("think " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.Equal(("enabled", 2048), (sent.RootElement.GetProperty("thinking").GetProperty("type").GetString(), sent.RootElement.GetProperty("thinking").GetProperty("budget_tokens").GetInt32()));
            Assert.False(sent.RootElement.TryGetProperty("temperature", out _)); // Anthropic refuses it beside thinking
        }

        using var reasoner = await http.PostAsync("/v1/messages", Json($$"""{"model":"mock-reasoner","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":20000},"messages":[{"role":"user","content":"reason {{tag}}"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, reasoner.StatusCode);
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("reason " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.Equal("high", sent.RootElement.GetProperty("reasoning_effort").GetString());
        }

        using var plain = await http.PostAsync("/v1/messages", Json($$"""{"model":"mock-gpt","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"plain {{tag}}"}]}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Contains(plain.Headers.GetValues("X-LlmRouter-Warning"), w => w.Contains("'mock-gpt' does not take it", StringComparison.Ordinal));
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("plain " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.False(sent.RootElement.TryGetProperty("reasoning_effort", out _));
        }
    }

    [Fact]
    public async Task Cache_control_breakpoints_reach_an_anthropic_model_and_its_cache_usage_comes_back()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        using var response = await http.PostAsync("/v1/messages", Json($$$"""
            {"model":"mock-claude","max_tokens":256,
             "system":[{"type":"text","text":"long instructions"},{"type":"text","text":"more {{{tag}}}","cache_control":{"type":"ephemeral","ttl":"1h"}}],
             "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny","cache_control":{"type":"ephemeral"}},
                                                   {"type":"text","text":"[mock:cache] and now?","cache_control":{"type":"ephemeral"}}]}]}
            """), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-LlmRouter-Warning"));
        var usage = (await ReadJsonAsync(response)).GetProperty("usage");
        Assert.Equal((20L, 100L), (usage.GetProperty("cache_creation_input_tokens").GetInt64(), usage.GetProperty("cache_read_input_tokens").GetInt64()));

        using var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("more " + tag, StringComparison.Ordinal)).Body);
        var root = sent.RootElement;
        Assert.False(root.GetProperty("system")[0].TryGetProperty("cache_control", out _));
        Assert.Equal("1h", root.GetProperty("system")[1].GetProperty("cache_control").GetProperty("ttl").GetString());
        Assert.Equal("ephemeral", root.GetProperty("tools")[0].GetProperty("cache_control").GetProperty("type").GetString());
        var lastTurn = root.GetProperty("messages")[2].GetProperty("content");
        Assert.Equal("tool_result", lastTurn[0].GetProperty("type").GetString());
        Assert.True(lastTurn[0].TryGetProperty("cache_control", out _));
        Assert.True(lastTurn[1].TryGetProperty("cache_control", out _));

        // The same breakpoints to an OpenAI-type model are ignored, and the answer says so.
        using var other = await http.PostAsync("/v1/messages", Json("""{"model":"mock-gpt","max_tokens":64,"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}"""), Cancel);
        Assert.Contains(other.Headers.GetValues("X-LlmRouter-Warning"), w => w.StartsWith("cache_control was ignored: model 'mock-gpt'", StringComparison.Ordinal));
    }
}
