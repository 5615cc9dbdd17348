using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary><c>POST /v1/embeddings</c>: OpenAI request and response shape, float or base64 encoding.</summary>
internal static class EmbeddingsEndpoints
{
    public static IEndpointRouteBuilder MapEmbeddingsEndpoint(this IEndpointRouteBuilder routes)
    {
        routes.MapOpenAiGroup().MapPost("/embeddings", EmbedAsync);
        return routes;
    }

    private static async Task EmbedAsync(HttpContext http, RouterCalls calls, IOptions<RequestLimitsOptions> limits)
    {
        var tenant = http.Tenant();

        EmbeddingRequest request;
        RouterContext context;
        bool base64;
        try
        {
            using var doc = await ChatCompletionsEndpoints.ReadJsonAsync(http);
            (request, var model, base64, var user) = Parse(doc.RootElement);
            RequestLimits.Validate(request, limits.Value);
            context = RoutingHeaders.From(http, tenant, model, user);
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex))
        {
            await OpenAiErrors.WriteExceptionAsync(http, ex);
            return;
        }

        // The call's token fires when the HTTP client goes away or when the silo running the call is lost (RouterCalls).
        using var call = calls.Begin(context, http.RequestAborted);
        try
        {
            var result = await call.InvokeAsync((router, ctx, ct) => router.EmbedAsync(request, ctx, ct));
            http.Response.Headers["X-LlmRouter-Provider"] = ProviderHeader.Value(result.Provider, result.Deployment);
            http.Response.Headers["X-LlmRouter-Model"] = result.Model;
            http.Response.Headers["X-LlmRouter-Cost-Usd"] = OpenAiWriter.Money(result.CostUsd);
            http.Response.Headers["X-LlmRouter-Attempts"] = result.Attempts.Count.ToString(CultureInfo.InvariantCulture);
            http.Response.ContentType = "application/json";
            var buffer = new ArrayBufferWriter<byte>(4096);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
                for (var i = 0; i < result.Vectors.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("object", "embedding");
                    w.WriteNumber("index", i);
                    if (base64)
                    {
                        w.WriteBase64String("embedding", MemoryMarshal.AsBytes(result.Vectors[i].AsSpan()));
                    }
                    else
                    {
                        w.WriteStartArray("embedding");
                        foreach (var f in result.Vectors[i])
                        {
                            w.WriteNumberValue(f);
                        }

                        w.WriteEndArray();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("model", result.Model);
                w.WriteStartObject("usage");
                w.WriteNumber("prompt_tokens", result.Usage.PromptTokens);
                w.WriteNumber("total_tokens", result.Usage.PromptTokens);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex, call.Lost))
        {
            // The surface's one mapping (OpenAiErrors), the same as chat's.
            await OpenAiErrors.WriteExceptionAsync(http, ex, call.Lost);
        }
    }

    private static (EmbeddingRequest Request, string? Model, bool Base64, string? User) Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(null, "The request body must be a JSON object.");
        }

        string? model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        if (!root.TryGetProperty("input", out var input))
        {
            throw new InvalidRequestException("input", "Missing required parameter: 'input'.");
        }

        List<string> inputs = input.ValueKind switch
        {
            JsonValueKind.String => [input.GetString()!],
            JsonValueKind.Array when input.GetArrayLength() > 0 && input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                input.EnumerateArray().Select(e => e.GetString()!).ToList(),
            _ => throw new InvalidRequestException("input", "'input' must be a string or a non-empty array of strings."),
        };
        if (inputs.Any(string.IsNullOrEmpty))
        {
            throw new InvalidRequestException("input", "'input' must not contain empty strings.");
        }

        int? dimensions = null;
        if (root.TryGetProperty("dimensions", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            dimensions = d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var n) && n is > 0 and <= 8192 ? n : throw new InvalidRequestException("dimensions", "'dimensions' must be an integer from 1 to 8192.");
        }

        var format = root.TryGetProperty("encoding_format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : "float";
        if (format is not ("float" or "base64"))
        {
            throw new InvalidRequestException("encoding_format", "'encoding_format' must be 'float' or 'base64'.");
        }

        string? user = null;
        if (root.TryGetProperty("user", out var u) && u.ValueKind != JsonValueKind.Null)
        {
            user = u.ValueKind == JsonValueKind.String ? u.GetString() : throw new InvalidRequestException("user", "'user' must be a string.");
        }

        return (new EmbeddingRequest(inputs, dimensions), model, format == "base64", user);
    }
}
