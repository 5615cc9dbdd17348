using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime.EventStreams;
using Amazon.Runtime.Internal.Auth;
using Amazon.Util;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Amazon Bedrock's Converse API: <c>POST /model/{modelId}/converse</c> (JSON) and <c>/model/{modelId}/converse-stream</c>
/// (<c>application/vnd.amazon.eventstream</c>, framed by the AWS SDK's own encoder: messageStart, contentBlockStart /
/// contentBlockDelta / contentBlockStop, messageStop, metadata with usage). Every request must carry a SigV4
/// <c>Authorization</c> header for service <c>bedrock</c>, which is verified with the AWS SDK's signer against
/// <see cref="MockUpstreamServer.AwsAccessKeyId"/> / <see cref="MockUpstreamServer.AwsSecretAccessKey"/>: missing → 403
/// MissingAuthenticationTokenException, malformed → 400 IncompleteSignatureException, unknown key → 403
/// UnrecognizedClientException, wrong signature → 403 InvalidSignatureException. Errors carry <c>x-amzn-ErrorType</c>
/// and a <c>{"message"}</c> body. Scenarios (marker or header): throttling (429 ThrottlingException), quota (400
/// ServiceQuotaExceededException), unavailable (503), server (500 InternalServerException), model_timeout (408),
/// validation (400), context_length (400 "Input is too long"), access_denied (403), not_found (404), cache (cache
/// read/write usage), tool_call, midstream (a modelStreamErrorException event after two deltas), midstream_throttle
/// (a throttlingException event), bad_crc (a frame whose CRC is wrong), and the shared faults (malformed_json,
/// missing_field, wrong_type, truncated without messageStop, stall, reset).
/// </summary>
internal sealed partial class BedrockMockApi(MockUpstreamServer server) : MockApi(server)
{
    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/model/{modelId}/converse", http => ConverseAsync(http, record, stream: false));
        app.MapPost("/model/{modelId}/converse-stream", http => ConverseAsync(http, record, stream: true));
    }

    private async Task ConverseAsync(HttpContext http, bool record, bool stream)
    {
        http.Request.EnableBuffering();
        var bytes = await ReadBytesAsync(http);
        http.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        if (Unauthenticated(http, bytes) is { } denied)
        {
            await ErrorAsync(http, denied.Status, denied.Type, denied.Message);
            return;
        }

        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        var model = http.Request.RouteValues["modelId"]?.ToString() ?? "mock";
        var messages = root.GetProperty("messages");
        var lastUser = messages.EnumerateArray().LastOrDefault(m => m.GetProperty("role").GetString() == "user");
        var text = lastUser.ValueKind == JsonValueKind.Object ? string.Concat(lastUser.GetProperty("content").EnumerateArray().Where(b => b.TryGetProperty("text", out _)).Select(b => b.GetProperty("text").GetString())) : string.Empty;
        var scenario = Scenario(http, text);
        if (ScenarioError(scenario) is { } error)
        {
            await ErrorAsync(http, error.Status, error.Type, error.Message);
            return;
        }

        var hasTools = root.TryGetProperty("toolConfig", out _);
        var lastIsToolResult = messages.EnumerateArray().Last().GetProperty("content").EnumerateArray().Any(b => b.TryGetProperty("toolResult", out _));
        var toolCall = scenario == "tool_call" || (hasTools && !lastIsToolResult);
        var toolName = hasTools ? root.GetProperty("toolConfig").GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("name").GetString()! : "tool";
        var reply = $"Mock reply to: {text}";
        var input = messages.GetRawText().Length / 4;
        var output = (reply.Length / 4) + 1;
        var (cacheRead, cacheWrite) = scenario == "cache" ? (input / 2, 7) : (0, 0);
        var stop = toolCall ? "tool_use" : "end_turn";
        if (!stream)
        {
            await DelayAsync(http, Timing.Latency);
            await WriteAnswerAsync(http, scenario, w =>
            {
                if (scenario is "missing_field" or "wrong_type")
                {
                    if (scenario == "wrong_type")
                    {
                        w.WriteString("output", reply);
                    }

                    w.WriteString("stopReason", stop);
                    return;
                }

                w.WriteStartObject("output");
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteStartArray("content");
                if (toolCall)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("toolUse");
                    w.WriteString("toolUseId", "tooluse_mock1");
                    w.WriteString("name", toolName);
                    w.WriteStartObject("input");
                    w.WriteString("city", "Paris");
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteStartObject();
                    w.WriteString("text", reply);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteString("stopReason", stop);
                Usage(w, input, output, cacheRead, cacheWrite);
                w.WriteStartObject("metrics");
                w.WriteNumber("latencyMs", 42);
                w.WriteEndObject();
            });
            return;
        }

        http.Response.ContentType = "application/vnd.amazon.eventstream";
        await DelayAsync(http, Timing.TimeToFirstToken);
        await EventAsync(http, "messageStart", w => w.WriteString("role", "assistant"));
        if (toolCall)
        {
            await EventAsync(http, "contentBlockStart", w =>
            {
                w.WriteNumber("contentBlockIndex", 0);
                w.WriteStartObject("start");
                w.WriteStartObject("toolUse");
                w.WriteString("toolUseId", "tooluse_mock1");
                w.WriteString("name", toolName);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            foreach (var piece in new[] { "{\"city\": ", "\"Lyon\"}" })
            {
                await EventAsync(http, "contentBlockDelta", w =>
                {
                    w.WriteNumber("contentBlockIndex", 0);
                    w.WriteStartObject("delta");
                    w.WriteStartObject("toolUse");
                    w.WriteString("input", piece);
                    w.WriteEndObject();
                    w.WriteEndObject();
                });
            }
        }
        else
        {
            var pieces = Split(reply);
            for (var i = 0; i < pieces.Count; i++)
            {
                if (i > 0)
                {
                    await DelayAsync(http, Timing.ChunkDelay);
                }

                if (i == 2)
                {
                    if (await StreamFaultAsync(http, scenario, string.Empty) && scenario != "malformed_json")
                    {
                        return;
                    }

                    switch (scenario)
                    {
                        case "malformed_json":
                            await WriteAsync(http, Frame("event", "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"cu"u8));
                            return;
                        case "bad_crc":
                            var frame = Frame("event", "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"x\"}}"u8);
                            frame[^1] ^= 0xFF;
                            await WriteAsync(http, frame);
                            return;
                        case "midstream":
                            await WriteAsync(http, Frame("exception", "modelStreamErrorException", "{\"message\":\"The model stream failed: an internal error occurred.\",\"originalStatusCode\":500}"u8));
                            return;
                        case "midstream_throttle":
                            await WriteAsync(http, Frame("exception", "throttlingException", "{\"message\":\"Too many tokens, please wait before trying again.\"}"u8));
                            return;
                    }
                }

                var piece = pieces[i];
                await EventAsync(http, "contentBlockDelta", w =>
                {
                    w.WriteNumber("contentBlockIndex", 0);
                    w.WriteStartObject("delta");
                    w.WriteString("text", piece);
                    w.WriteEndObject();
                });
            }
        }

        await EventAsync(http, "contentBlockStop", w => w.WriteNumber("contentBlockIndex", 0));
        await EventAsync(http, "messageStop", w => w.WriteString("stopReason", stop));
        await EventAsync(http, "metadata", w =>
        {
            Usage(w, input, output, cacheRead, cacheWrite);
            w.WriteStartObject("metrics");
            w.WriteNumber("latencyMs", 42);
            w.WriteEndObject();
        });
    }

    private static (int Status, string Type, string Message)? ScenarioError(string? scenario) => scenario switch
    {
        "throttling" or "rate_limit" => (429, "ThrottlingException", "Too many requests, please wait before trying again."),
        "quota" => (400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account. You can view your quotas at https://docs.aws.amazon.com/servicequotas/latest/userguide/gs-request-quota.html."),
        "unavailable" or "overloaded" => (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
        "server" => (500, "InternalServerException", "The server encountered an internal error while processing the request."),
        "model_timeout" => (408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
        "validation" or "bad_request" => (400, "ValidationException", "Malformed input request: #: required key [messages] not found, please reformat your input and try again."),
        "context_length" => (400, "ValidationException", "Input is too long for requested model."),
        "access_denied" or "permission" => (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
        "not_found" => (404, "ResourceNotFoundException", "Model not found: the provided model identifier is invalid."),
        _ => null,
    };

    /// <summary>The SigV4 check, with the AWS SDK's signer; null when the request is signed by a known key.</summary>
    private static (int Status, string Type, string Message)? Unauthenticated(HttpContext http, byte[] body)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return (403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        }

        var match = AuthorizationShape().Match(authorization);
        var amzDate = http.Request.Headers["x-amz-date"].ToString();
        if (!match.Success || !DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt)
            || match.Groups["date"].Value != amzDate[..8])
        {
            return (400, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters, and an X-Amz-Date header of the same day.");
        }

        if (match.Groups["akid"].Value != MockUpstreamServer.AwsAccessKeyId)
        {
            return (403, "UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var signedNames = match.Groups["signed"].Value.Split(';');
        var headers = signedNames.ToDictionary(n => n, n => http.Request.Headers[n].ToString(), StringComparer.OrdinalIgnoreCase);
        if (!signedNames.Contains("host") || !signedNames.Contains("x-amz-date"))
        {
            return (403, "InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed.");
        }

        var expected = Verifier.SignatureOf(http, headers, body, match.Groups["region"].Value, signedAt);
        return expected == match.Groups["sig"].Value
            ? null
            : (403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }

    private static async Task<byte[]> ReadBytesAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        http.Request.Body.Position = 0;
        return buffer.ToArray();
    }

    private static void Usage(Utf8JsonWriter w, int input, int output, int cacheRead, int cacheWrite)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("inputTokens", input);
        w.WriteNumber("outputTokens", output);
        w.WriteNumber("totalTokens", input + output + cacheRead + cacheWrite);
        if (cacheRead + cacheWrite > 0)
        {
            w.WriteNumber("cacheReadInputTokens", cacheRead);
            w.WriteNumber("cacheWriteInputTokens", cacheWrite);
        }

        w.WriteEndObject();
    }

    private static Task ErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.Headers["x-amzn-ErrorType"] = type + ":http://internal.amazon.com/coral/com.amazon.bedrock/";
        return WriteJson(http, status, w => w.WriteString("message", message));
    }

    private static Task EventAsync(HttpContext http, string name, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteString("p", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"[..((name.Length % 7) + 3)]); // Bedrock pads events
            w.WriteEndObject();
        }

        return WriteAsync(http, Frame("event", name, buffer.WrittenSpan));
    }

    /// <summary>One event-stream message, encoded by the AWS SDK (prelude, headers, payload, both CRCs).</summary>
    private static byte[] Frame(string messageType, string name, ReadOnlySpan<byte> payload)
    {
        var headers = new List<IEventStreamHeader>
        {
            Header(messageType == "exception" ? ":exception-type" : ":event-type", name),
            Header(":content-type", "application/json"),
            Header(":message-type", messageType),
        };
        return new EventStreamMessage(headers, payload.ToArray()).ToByteArray();
    }

    private static EventStreamHeader Header(string name, string value)
    {
        var header = new EventStreamHeader(name);
        header.SetString(value);
        return header;
    }

    private static async Task WriteAsync(HttpContext http, byte[] frame)
    {
        await http.Response.Body.WriteAsync(frame, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    [GeneratedRegex("^AWS4-HMAC-SHA256 Credential=(?<akid>[A-Z0-9]+)/(?<date>[0-9]{8})/(?<region>[a-z0-9-]+)/bedrock/aws4_request, ?SignedHeaders=(?<signed>[a-z0-9;-]+), ?Signature=(?<sig>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationShape();

    /// <summary>Recomputes a request's signature with the SDK signer's canonicalisation (offered to its subclasses).</summary>
    private sealed class Verifier : AWS4Signer
    {
        public static string SignatureOf(HttpContext http, Dictionary<string, string> signedHeaders, byte[] body, string region, DateTime signedAt)
        {
            var bodyHash = AWSSDKUtils.ToHex(ComputeHash(body), true);
            var sorted = SortAndPruneHeaders(signedHeaders);
            var endpoint = new Uri($"http://{http.Request.Host}");
            var canonical = CanonicalizeRequest(endpoint, http.Request.Path.Value ?? "/", http.Request.Method, sorted, CanonicalizeQueryParameters(http.Request.QueryString.Value?.TrimStart('?') ?? string.Empty), bodyHash, new Dictionary<string, string>(), true);
            return ComputeSignature(MockUpstreamServer.AwsAccessKeyId, MockUpstreamServer.AwsSecretAccessKey, region, signedAt, "bedrock", CanonicalizeHeaderNames(sorted), canonical).Signature;
        }
    }
}
