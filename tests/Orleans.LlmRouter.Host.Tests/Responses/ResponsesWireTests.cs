using System.Net;
using System.Text.Json;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Tests.SurfaceHttp;

namespace Orleans.LlmRouter.Host.Tests.Responses;

/// <summary>
/// <c>/v1/responses</c> on the wire, with a raw HttpClient: the response object, the typed events of a stream with
/// their sequence numbers, stored responses (GET, DELETE, <c>previous_response_id</c>, tenant isolation, expiry of
/// <c>store: false</c>) and the OpenAI error shape.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ResponsesWireTests(GatewayFixture gateway)
{
    private const string DemoKey = "sk-llmrouter-demo-b";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private HttpClient Http(string? key = GatewayFixture.DevKey) => SurfaceHttp.Client(gateway.BaseAddress, key);

    private static void AssertError(HttpStatusCode expected, string type, HttpResponseMessage response, JsonElement body)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_response_has_output_items_output_text_status_and_usage_and_is_one_ledger_row()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/responses", Json("""
            {"model":"sim-small","instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":"hello over the responses API"}]}],
             "max_output_tokens":256,"metadata":{"k":"v"},"reasoning":{"effort":"low"}}
            """), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.Equal(("response", "completed", "sim-small"), (body.GetProperty("object").GetString(), body.GetProperty("status").GetString(), body.GetProperty("model").GetString()));
        Assert.StartsWith("resp_", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        var item = Assert.Single(body.GetProperty("output").EnumerateArray());
        Assert.Equal(("message", "assistant"), (item.GetProperty("type").GetString(), item.GetProperty("role").GetString()));
        var part = Assert.Single(item.GetProperty("content").EnumerateArray());
        Assert.Equal("output_text", part.GetProperty("type").GetString());
        Assert.Contains("hello over the responses API", part.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(part.GetProperty("text").GetString(), body.GetProperty("output_text").GetString());
        Assert.Equal("be brief", body.GetProperty("instructions").GetString());
        Assert.Equal("v", body.GetProperty("metadata").GetProperty("k").GetString());
        var usage = body.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt64() > 0 && usage.GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt64());
        Assert.Contains(response.Headers.GetValues("X-LlmRouter-Warning"), w => w.Contains("'sim-small' does not take it", StringComparison.Ordinal));

        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var ledger = Assert.IsType<InMemoryLedger>(gateway.Services.GetService(typeof(ILedger)));
        LedgerRecord? row = null;
        await foreach (var r in ledger.ReadAfterAsync("dev", 0, Cancel))
        {
            row = r.RequestId == requestId ? r : row;
        }

        Assert.NotNull(row);
        Assert.Equal(("sim-small", "simulated", true), (row!.Model, row.Provider, row.Success));
        Assert.Equal((usage.GetProperty("input_tokens").GetInt64(), usage.GetProperty("output_tokens").GetInt64()), (row.PromptTokens, row.CompletionTokens));
    }

    [Fact]
    public async Task A_stream_sends_the_typed_events_in_order_with_increasing_sequence_numbers()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/responses", Json("""{"model":"sim-small","stream":true,"input":"stream the responses API please"}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
        Assert.All(events, e => Assert.Equal(e.Event, e.Data.GetProperty("type").GetString()));
        var names = events.Select(e => e.Event).ToList();
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], names.Take(4));
        Assert.Equal(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"], names.TakeLast(4));
        Assert.All(names.Skip(4).SkipLast(4), n => Assert.Equal("response.output_text.delta", n));
        var text = string.Concat(events.Where(e => e.Event == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString()));
        Assert.Equal(text, events.Single(e => e.Event == "response.output_text.done").Data.GetProperty("text").GetString());
        var completed = events[^1].Data.GetProperty("response");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.True(completed.GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(text, completed.GetProperty("output_text").GetString());
        Assert.Equal("in_progress", events[0].Data.GetProperty("response").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_streamed_function_call_has_its_arguments_events()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/responses", Json("""
            {"model":"sim-small","stream":true,"input":"weather in Lyon?","tool_choice":"required",
             "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}
            """), Cancel);
        var names = ParseSse(await response.Content.ReadAsStringAsync(Cancel)).Select(e => e.Event).ToList();
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done", "response.completed"], names);
    }

    [Fact]
    public async Task A_stored_response_can_be_read_continued_and_deleted_by_its_tenant_only()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        using var first = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-gpt","input":"remember {{tag}}"}"""), Cancel);
        var firstBody = await ReadJsonAsync(first);
        var id = firstBody.GetProperty("id").GetString()!;

        using var get = await http.GetAsync($"/v1/responses/{id}", Cancel);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(firstBody.GetProperty("output_text").GetString(), (await ReadJsonAsync(get)).GetProperty("output_text").GetString());

        // Another tenant cannot read it, continue from it or delete it.
        using var demo = Http(DemoKey);
        using var foreign = await demo.GetAsync($"/v1/responses/{id}", Cancel);
        AssertError(HttpStatusCode.NotFound, "invalid_request_error", foreign, await ReadJsonAsync(foreign));
        using var foreignContinue = await demo.PostAsync("/v1/responses", Json($$"""{"model":"action:chat_small","previous_response_id":"{{id}}","input":"and?"}"""), Cancel);
        var foreignError = await ReadJsonAsync(foreignContinue);
        AssertError(HttpStatusCode.NotFound, "invalid_request_error", foreignContinue, foreignError);
        Assert.Equal("previous_response_id", foreignError.GetProperty("error").GetProperty("param").GetString());
        using var foreignDelete = await demo.DeleteAsync($"/v1/responses/{id}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, foreignDelete.StatusCode);

        // A follow-up carries the stored conversation to the model: both turns reach the upstream.
        using var second = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-gpt","previous_response_id":"{{id}}","input":"what was it?"}"""), Cancel);
        var secondBody = await ReadJsonAsync(second);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(id, secondBody.GetProperty("previous_response_id").GetString());
        var sent = gateway.Mock.Requests.Last(r => r.Body.Contains("what was it?", StringComparison.Ordinal));
        using var upstream = JsonDocument.Parse(sent.Body);
        var messages = upstream.RootElement.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString())).ToList();
        Assert.Equal(("user", "remember " + tag), messages[0]);
        Assert.Equal(("assistant", firstBody.GetProperty("output_text").GetString()), messages[1]);
        Assert.Equal(("user", "what was it?"), messages[2]);

        using var deleted = await http.DeleteAsync($"/v1/responses/{id}", Cancel);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await ReadJsonAsync(deleted)).GetProperty("deleted").GetBoolean());
        using var gone = await http.GetAsync($"/v1/responses/{id}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var again = await http.DeleteAsync($"/v1/responses/{id}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task A_response_with_store_false_is_not_kept()
    {
        using var http = Http();
        using var created = await http.PostAsync("/v1/responses", Json("""{"model":"sim-small","store":false,"input":"forget me"}"""), Cancel);
        var body = await ReadJsonAsync(created);
        Assert.False(body.GetProperty("store").GetBoolean());
        using var get = await http.GetAsync($"/v1/responses/{body.GetProperty("id").GetString()}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Theory]
    [InlineData("""{"input":"no model"}""", "model")]
    [InlineData("""{"model":"sim-small"}""", "input")]
    [InlineData("""{"model":"sim-small","input":[{"type":"item_reference","id":"x"}]}""", "input[0].type")]
    [InlineData("""{"model":"sim-small","input":"x","text":{"format":{"type":"json_schema","name":"x"}}}""", "text.format.schema")]
    public async Task An_invalid_body_is_400_in_the_openai_shape_naming_the_field(string body, string param)
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/responses", Json(body), Cancel);
        var error = await ReadJsonAsync(response);
        AssertError(HttpStatusCode.BadRequest, "invalid_request_error", response, error);
        Assert.Equal(param, error.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Json_schema_output_and_an_incomplete_response()
    {
        using var http = Http();
        using var structured = await http.PostAsync("/v1/responses", Json("""
            {"model":"sim-small","input":"a course","text":{"format":{"type":"json_schema","name":"course","strict":true,
             "schema":{"type":"object","properties":{"title":{"type":"string"}},"required":["title"],"additionalProperties":false}}}}
            """), Cancel);
        var body = await ReadJsonAsync(structured);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(body.GetProperty("output_text").GetString()!).RootElement.GetProperty("title").ValueKind);
        Assert.Equal("json_schema", body.GetProperty("text").GetProperty("format").GetProperty("type").GetString());

        using var cut = await http.PostAsync("/v1/responses", Json($$"""{"model":"sim-small","max_output_tokens":3,"input":"{{string.Join(' ', Enumerable.Repeat("long", 50))}}"}"""), Cancel);
        var incomplete = await ReadJsonAsync(cut);
        Assert.Equal("incomplete", incomplete.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", incomplete.GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_wrong_key_is_401_and_a_budget_402_in_the_openai_shape()
    {
        using var wrong = Http("sk-wrong");
        using var denied = await wrong.PostAsync("/v1/responses", Json("""{"model":"sim-small","input":"x"}"""), Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal("invalid_api_key", (await ReadJsonAsync(denied)).GetProperty("error").GetProperty("code").GetString());

        var (_, key) = await CreateTenantAsync(gateway.BaseAddress, new { lifetimeTokens = 130 });
        using var http = Http(key);
        using var ok = await http.PostAsync("/v1/responses", Json("""{"model":"sim-small","max_output_tokens":100,"input":"spend"}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var refused = await http.PostAsync("/v1/responses", Json("""{"model":"sim-small","max_output_tokens":100,"input":"spend"}"""), Cancel);
        var error = await ReadJsonAsync(refused);
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal(("budget_exceeded", "lifetime"), (error.GetProperty("error").GetProperty("code").GetString(), error.GetProperty("error").GetProperty("window").GetString()));
    }

    [Fact]
    public async Task Calls_on_every_surface_count_against_the_same_budget_and_each_is_one_ledger_row()
    {
        var (id, key) = await CreateTenantAsync(gateway.BaseAddress, new { lifetimeTokens = 100000 });
        using var http = Http(key);
        using var chat = await http.PostAsync("/v1/chat/completions", Json("""{"model":"sim-small","messages":[{"role":"user","content":"one"}]}"""), Cancel);
        using var messages = await http.PostAsync("/v1/messages", Json("""{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"two"}]}"""), Cancel);
        using var responses = await http.PostAsync("/v1/responses", Json("""{"model":"sim-small","input":"three"}"""), Cancel);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], new[] { chat.StatusCode, messages.StatusCode, responses.StatusCode });

        var usage = await UsageAsync(gateway.BaseAddress, id);
        var totals = usage.GetProperty("totals");
        Assert.Equal(3, totals.GetProperty("calls").GetInt64());
        var lifetime = usage.GetProperty("counters").GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == "lifetime");
        Assert.Equal(totals.GetProperty("promptTokens").GetInt64() + totals.GetProperty("completionTokens").GetInt64(), lifetime.GetProperty("tokens").GetInt64());
    }

    [Fact]
    public async Task An_upstream_failure_mid_stream_ends_the_stream_with_response_failed()
    {
        using var http = Http();
        using var response = await http.PostAsync("/v1/responses", Json("""{"model":"mock-gpt","stream":true,"input":"[mock:midstream] go"}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = ParseSse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Contains(events, e => e.Event == "response.output_text.delta");
        var (name, data) = events[^1];
        Assert.Equal("response.failed", name);
        Assert.Equal("failed", data.GetProperty("response").GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(data.GetProperty("response").GetProperty("error").GetProperty("message").GetString()));
        Assert.DoesNotContain(events, e => e.Event == "response.completed");
    }

    [Fact]
    public async Task Reasoning_effort_reaches_reasoning_models_in_their_own_terms()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        using var openai = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-reasoner","reasoning":{"effort":"medium"},"input":"effort {{tag}}"}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, openai.StatusCode);
        Assert.False(openai.Headers.Contains("X-LlmRouter-Warning"));
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("effort " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.Equal("medium", sent.RootElement.GetProperty("reasoning_effort").GetString());
        }

        using var claude = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-claude","max_output_tokens":8000,"reasoning":{"effort":"low"},"input":"budget {{tag}}"}"""), Cancel);
        Assert.Equal(HttpStatusCode.OK, claude.StatusCode);
        using (var sent = JsonDocument.Parse(gateway.Mock.Requests.Last(r => r.Body.Contains("budget " + tag, StringComparison.Ordinal)).Body))
        {
            Assert.Equal(1024, sent.RootElement.GetProperty("thinking").GetProperty("budget_tokens").GetInt32());
        }
    }
}
