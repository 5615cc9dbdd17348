using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>Writes errors in the OpenAI shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAiErrors
{
    public static async Task WriteAsync(HttpContext http, int status, string message, string type, string? param = null, string? code = null, bool? shouldRetry = null)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        if (shouldRetry is { } retry)
        {
            http.Response.Headers["x-should-retry"] = retry ? "true" : "false";
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OpenAiWriter.WriteError(writer, message, type, param, code);
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }
}
