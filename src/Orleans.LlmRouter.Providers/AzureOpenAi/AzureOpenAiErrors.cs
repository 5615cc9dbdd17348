using System.Text.Json;
using System.Text;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.AzureOpenAi;

/// <summary>
/// Azure OpenAI's failures: a 400 <c>content_filter</c> error (the prompt was filtered; the categories in
/// <c>innererror.content_filter_result</c>) and a choice finished by <c>content_filter</c> (the completion was filtered;
/// the categories in the choice's <c>content_filter_results</c>) are <see cref="ProviderErrorClass.ContentPolicy"/>
/// with the filtered categories and severities in the message; everything else is classified as for OpenAI. Each
/// error's message carries the answer's <c>x-ms-region</c> and <c>apim-request-id</c>.
/// </summary>
internal static class AzureOpenAiErrors
{
    public static ProviderException FromResponse(HttpResponseMessage response, string body, ProviderDefinition provider, ModelDefinition? model, TimeProvider? time, string? secret)
    {
        ArgumentNullException.ThrowIfNull(response);
        var where = Where(response);
        var filter = FilterOfError(body);
        if (filter is { } result)
        {
            var message = HttpErrors.Scrub(ErrorMessage(body) ?? "The request was filtered by Azure's content filter.", secret);
            return ProviderException.Create(ProviderErrorClass.ContentPolicy, provider, model, (int)response.StatusCode, $"{message} (content filter: {result}){where}");
        }

        var typed = HttpErrors.FromResponse(response, body, provider, model, time, secret);
        if (where.Length == 0)
        {
            return typed;
        }

        var withPlace = ProviderException.Create(typed.ErrorClass, provider, model, typed.StatusCode, typed.ProviderMessage + where, typed.RetryAfter);
        withPlace.ShouldRetryOverride = typed.ShouldRetryOverride;
        return withPlace;
    }

    /// <summary>A choice finished by <c>content_filter</c> as a typed error, else null.</summary>
    public static ProviderException? FromFilteredChoice(JsonElement choice, ProviderDefinition provider, ModelDefinition model)
    {
        if (!choice.TryGetProperty("finish_reason", out var fr) || fr.ValueKind != JsonValueKind.String || fr.GetString() != "content_filter")
        {
            return null;
        }

        var result = choice.TryGetProperty("content_filter_results", out var r) ? Summary(r) : null;
        return ProviderException.Create(ProviderErrorClass.ContentPolicy, provider, model, 200, $"The completion was filtered by Azure's content filter (content filter: {result ?? "no categories given"}).");
    }

    /// <summary>A response header's first value, or null.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Where(HttpResponseMessage response)
    {
        var region = Header(response, "x-ms-region");
        var apim = Header(response, "apim-request-id");
        if (region is null && apim is null)
        {
            return string.Empty;
        }

        return $" [x-ms-region: {region ?? "-"}, apim-request-id: {apim ?? "-"}]";
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The filter result of a content-filter error body (<c>error.innererror.content_filter_result</c>), or null.</summary>
    private static string? FilterOfError(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (!doc.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            var inner = error.TryGetProperty("innererror", out var ie) && ie.ValueKind == JsonValueKind.Object ? ie : default;
            var result = inner.ValueKind == JsonValueKind.Object && inner.TryGetProperty("content_filter_result", out var cfr) ? cfr : default;
            if (code != "content_filter" && result.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return (result.ValueKind == JsonValueKind.Object ? Summary(result) : null) ?? "no categories given";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The filtered categories with their severities (<c>hate: high (filtered), violence: medium (filtered)</c>).</summary>
    private static string? Summary(JsonElement results)
    {
        if (results.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (var category in results.EnumerateObject())
        {
            var value = category.Value;
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("filtered", out var f) || f.ValueKind != JsonValueKind.True)
            {
                continue;
            }

            text.Append(text.Length > 0 ? ", " : string.Empty).Append(category.Name);
            if (value.TryGetProperty("severity", out var severity) && severity.ValueKind == JsonValueKind.String)
            {
                text.Append(": ").Append(severity.GetString());
            }
            else if (value.TryGetProperty("detected", out var detected) && detected.ValueKind == JsonValueKind.True)
            {
                text.Append(": detected");
            }
        }

        return text.Length > 0 ? text.ToString() : null;
    }
}
