using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Mcp;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration.Mcp;

/// <summary>Parses one entry of <c>mcp_servers:</c> and a tenant's <c>mcp:</c> allow-list, reporting every problem with file and line.</summary>
internal static class McpServerParser
{
    public static McpServerDefinition? Parse(YamlNodeReader r, YamlMappingNode map)
    {
        r.CheckKeys(map, "an MCP server", "id", "url", "api_key_env", "api_key_header", "headers", "timeout_seconds", "enabled", "limits", "circuit_breaker", "pricing", "description");
        var id = r.String(map, "id", "an MCP server", required: true);
        var what = id is null ? "an MCP server" : $"MCP server '{id}'";
        if (id is not null && !McpToolNames.IsValidServerId(id))
        {
            r.Error(r.Get(map, "id")!, $"MCP server id '{id}' must be letters, digits and '-' (at most 48; no '_', which separates server and tool in 'server__tool')");
            id = null;
        }

        var urlText = r.String(map, "url", what, required: true);
        Uri? url = null;
        if (urlText is not null && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            r.Error(r.Get(map, "url")!, $"'url' of {what} must be an absolute http(s) URL of its Streamable HTTP endpoint");
            url = null;
        }

        var apiKeyEnv = r.String(map, "api_key_env", what);
        var apiKeyHeader = r.String(map, "api_key_header", what);
        if (apiKeyHeader is not null && apiKeyEnv is null)
        {
            r.Error(r.Get(map, "api_key_header")!, $"'api_key_header' of {what} needs 'api_key_env' (the variable holding the key)");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (r.Map(map, "headers", what) is { } h)
        {
            foreach (var (k, v) in h.Children)
            {
                if (k is YamlScalarNode { Value: { Length: > 0 } key } && v is YamlScalarNode { Value: { } value })
                {
                    if (key.Equals("authorization", StringComparison.OrdinalIgnoreCase) || (apiKeyHeader is not null && key.Equals(apiKeyHeader, StringComparison.OrdinalIgnoreCase)))
                    {
                        r.Error(k, $"header '{key}' of {what} carries a secret: name the environment variable with 'api_key_env' (and 'api_key_header')");
                        continue;
                    }

                    headers[key] = value;
                }
                else
                {
                    r.Error(k, $"headers of {what} must be simple name: value pairs");
                }
            }
        }

        var timeout = r.Int(map, "timeout_seconds", what, min: 1) ?? 60;
        var enabled = r.Bool(map, "enabled", what) ?? true;
        var limits = ProviderLimits.Unlimited;
        if (r.Map(map, "limits", what) is { } l)
        {
            var lw = $"limits of {what}";
            r.CheckKeys(l, lw, "rpm");
            limits = new ProviderLimits(r.Int(l, "rpm", lw, min: 1));
        }

        var breaker = ProviderParser.ParseBreaker(r, r.Map(map, "circuit_breaker", what), what) ?? BreakerSettings.Default;
        var perCall = 0m;
        var toolPrices = new Dictionary<string, decimal>(StringComparer.Ordinal);
        if (r.Map(map, "pricing", what) is { } p)
        {
            var pw = $"pricing of {what}";
            r.CheckKeys(p, pw, "per_call", "tools");
            perCall = r.Decimal(p, "per_call", pw) ?? 0m;
            if (r.Map(p, "tools", pw) is { } tools)
            {
                var tw = $"tool prices of {what}";
                foreach (var (k, _) in tools.Children)
                {
                    if (k is not YamlScalarNode { Value: { Length: > 0 } tool } || !McpToolNames.IsValidToolName(tool))
                    {
                        r.Error(k, $"{tw} must be keyed by tool names (letters, digits, '_', '-', '.')");
                        continue;
                    }

                    if (r.Decimal(tools, tool, tw) is { } price)
                    {
                        toolPrices[tool] = price;
                    }
                }
            }
        }

        return id is null || url is null
            ? null
            : new McpServerDefinition(id, url, apiKeyEnv, TimeSpan.FromSeconds(timeout), enabled, limits, breaker, r.At(map))
            {
                ApiKeyHeader = apiKeyHeader,
                Headers = headers,
                PricePerCall = perCall,
                ToolPrices = toolPrices,
                Description = r.String(map, "description", what),
            };
    }

    /// <summary>A tenant's <c>mcp: { servers: [...], tools: [server__tool | server__*] }</c>; references are checked by the loader.</summary>
    public static McpAllowList ParseAllowList(YamlNodeReader r, YamlMappingNode? map, string what, List<McpRef> refs)
    {
        if (map is null)
        {
            return McpAllowList.All;
        }

        var mw = $"mcp of {what}";
        r.CheckKeys(map, mw, "servers", "tools");
        var servers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (server, node) in r.StringList(map, "servers", mw))
        {
            servers.Add(server);
            refs.Add(new McpRef(what, server, null, r.At(node)));
        }

        var tools = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, node) in r.StringList(map, "tools", mw))
        {
            if (!McpToolNames.TrySplit(name, out var server, out var tool) || (tool != "*" && !McpToolNames.IsValidToolName(tool)))
            {
                r.Error(node, $"tools of {mw} must be 'server__tool' or 'server__*', not '{name}'");
                continue;
            }

            tools.Add(name);
            refs.Add(new McpRef(what, server, tool, r.At(node)));
        }

        return new McpAllowList(servers, tools);
    }

    /// <summary>A server (and tool) named by an allow-list, for the loader's check against <c>mcp_servers</c>.</summary>
    internal sealed record McpRef(string Owner, string Server, string? Tool, SourceLocation Location);
}
