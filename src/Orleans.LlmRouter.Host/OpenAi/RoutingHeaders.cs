using System.Globalization;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// Routing hints of a request: <c>model</c> (a catalog model, <c>auto</c> or <c>action:&lt;name&gt;</c>) and the
/// <c>X-LlmRouter-Action</c>, <c>-Strategy</c>, <c>-Run</c>, <c>-Tags</c>, <c>-Max-Cost</c> headers; the budget levels
/// of the call: the key it was authenticated with (and that key's project, or <c>X-LlmRouter-Project</c>) and its end
/// user (<c>X-LlmRouter-End-User</c>, which wins over the body's <c>user</c> / <c>metadata.user_id</c>); what it asks of
/// the response cache (<see cref="CacheHeaders"/>).
/// </summary>
internal static class RoutingHeaders
{
    public static RouterContext From(HttpContext http, TenantDefinition tenant, string? model, string? user = null)
    {
        var headers = http.Request.Headers;
        string? action = First(headers, "X-LlmRouter-Action");
        string? explicitModel = null;
        if (model is not null && model.StartsWith("action:", StringComparison.Ordinal))
        {
            action = model["action:".Length..];
        }
        else if (model is not null && (action is null || model != "auto"))
        {
            explicitModel = model;
        }

        if (explicitModel is null && action is null)
        {
            explicitModel = model;
        }

        decimal? maxCost = null;
        if (First(headers, "X-LlmRouter-Max-Cost") is { Length: > 0 } mc)
        {
            maxCost = decimal.TryParse(mc, NumberStyles.Number, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new InvalidRequestException("X-LlmRouter-Max-Cost", "The X-LlmRouter-Max-Cost header must be a non-negative decimal number of USD.");
        }

        var tags = First(headers, "X-LlmRouter-Tags") is { Length: > 0 } t
            ? t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        var key = http.Features.Get<Auth.AuthenticatedTenant>()?.Key;
        return new RouterContext(tenant.Id)
        {
            KeyId = key?.Id,
            ProjectId = key?.ProjectId ?? First(headers, "X-LlmRouter-Project"),
            EndUser = First(headers, "X-LlmRouter-End-User") is { Length: > 0 } endUser ? endUser : user,
            RequestId = Hosting.GatewayTelemetry.RequestId(http), // the X-Request-Id of the response
            Model = explicitModel,
            Action = action,
            Strategy = First(headers, "X-LlmRouter-Strategy"),
            RunId = First(headers, "X-LlmRouter-Run"),
            MaxCostUsd = maxCost,
            Tags = tags,
            Cache = CacheHeaders.From(headers),
        };
    }

    // StringValues indexed directly: LINQ's FirstOrDefault would box it and allocate an enumerator per header.
    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;
}
