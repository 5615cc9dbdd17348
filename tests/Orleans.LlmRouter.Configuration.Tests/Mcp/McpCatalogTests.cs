using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Mcp;

public sealed class McpCatalogTests
{
    private const string Servers = """
        mcp_servers:
          - id: files
            url: http://127.0.0.1:7001/mcp
            api_key_env: FILES_KEY
            api_key_header: x-api-key
            headers: { X-Org: acme }
            timeout_seconds: 5
            limits: { rpm: 60 }
            circuit_breaker: { minimum_calls: 3, break_seconds: 7 }
            pricing: { per_call: 0.002, tools: { search: 0.01 } }
          - id: web
            url: https://mcp.example.com/mcp

        """;

    private static CatalogLoadResult Load(Func<string, string?> env, params (string File, string Text)[] files) =>
        new CatalogLoader(null, env).Load(files);

    private static IReadOnlyList<ConfigError> Errors(params (string File, string Text)[] files) =>
        Assert.Throws<ConfigurationException>(() => Load(_ => "set", files)).Errors;

    [Fact]
    public void Mcp_servers_load_with_limits_breaker_prices_and_location()
    {
        var catalog = Load(_ => "set", ("mcp.yaml", Servers)).Catalog;
        var files = catalog.McpServers["files"];
        Assert.Equal(new Uri("http://127.0.0.1:7001/mcp"), files.Url);
        Assert.Equal(TimeSpan.FromSeconds(5), files.Timeout);
        Assert.Equal(60, files.Limits.RequestsPerMinute);
        Assert.Equal(3, files.Breaker.MinimumCalls);
        Assert.Equal(TimeSpan.FromSeconds(7), files.Breaker.Break);
        Assert.Equal(0.01m, files.PriceOf("search"));
        Assert.Equal(0.002m, files.PriceOf("read"));
        Assert.Equal("x-api-key", files.ApiKeyHeader);
        Assert.Equal("acme", files.Headers["X-Org"]);
        Assert.Equal(new SourceLocation("mcp.yaml", 2, 5), files.Location);
        Assert.True(catalog.McpServers["web"].Enabled);
        Assert.Equal(0m, catalog.McpServers["web"].PriceOf("anything"));
    }

    [Fact]
    public void A_server_whose_key_variable_is_missing_is_disabled_with_a_notice_not_a_failure()
    {
        var loaded = Load(_ => null, ("mcp.yaml", Servers));
        Assert.False(loaded.Catalog.McpServers["files"].Enabled);
        Assert.Contains("FILES_KEY", loaded.Catalog.McpServers["files"].DisabledReason, StringComparison.Ordinal);
        Assert.Contains(loaded.Notices, n => n.Contains("MCP server 'files' is disabled", StringComparison.Ordinal));
        Assert.True(loaded.Catalog.McpServers["web"].Enabled);
    }

    [Fact]
    public void Every_mistake_is_reported_at_once_with_file_and_line()
    {
        var errors = Errors(("mcp.yaml", """
            mcp_servers:
              - id: bad_id
                url: http://x/mcp
              - id: nourl
              - id: relative
                url: /mcp
              - id: secret
                url: http://x/mcp
                headers: { Authorization: Bearer sk-123 }
              - id: typo
                url: http://x/mcp
                api_key: sk-123
              - id: price
                url: http://x/mcp
                pricing: { per_call: -1 }
              - id: price
                url: http://x/mcp
            tenants:
              - id: t1
                mcp: { servers: [ghost, price], tools: [price__ok, nope, typo__x, other__*] }
            """));
        string[] expected =
        [
            "mcp.yaml:2:9: MCP server id 'bad_id' must be letters, digits and '-'",
            "mcp.yaml:4:5: MCP server 'nourl' is missing required field 'url'",
            "mcp.yaml:6:10: 'url' of MCP server 'relative' must be an absolute http(s) URL",
            "mcp.yaml:9:16: header 'Authorization' of MCP server 'secret' carries a secret",
            "mcp.yaml:12:5: unknown field 'api_key' in an MCP server (API keys are never written in YAML",
            "mcp.yaml:15:26: 'per_call' of pricing of MCP server 'price' must not be negative",
            "mcp.yaml:16:5: duplicate MCP server 'price' (first defined at mcp.yaml:13:5)",
            "mcp.yaml:20:22: tenant 't1' allows MCP server 'ghost', which is not in mcp_servers",
            "mcp.yaml:20:56: tools of mcp of tenant 't1' must be 'server__tool' or 'server__*', not 'nope'",
            "mcp.yaml:20:62: tenant 't1' allows tool 'typo__x' but not its MCP server 'typo'",
            "mcp.yaml:20:71: tenant 't1' allows tool 'other__*' of MCP server 'other', which is not in mcp_servers",
        ];
        var actual = errors.Select(e => e.ToString()).ToList();
        Assert.All(expected, e => Assert.Contains(actual, a => a.StartsWith(e, StringComparison.Ordinal)));
        Assert.Equal(expected.Length, actual.Count);
    }

    [Fact]
    public void A_tenant_allow_list_narrows_servers_and_tools()
    {
        var catalog = Load(_ => "set", ("mcp.yaml", Servers + """
            tenants:
              - id: t1
                mcp: { servers: [files], tools: [files__read] }
              - id: t2
                mcp: { tools: [web__*, files__search] }
              - id: t3
            """)).Catalog;
        var t1 = catalog.Tenants["t1"].Mcp;
        Assert.True(t1.Allows("files", "read"));
        Assert.False(t1.Allows("files", "write"));
        Assert.False(t1.AllowsServer("web"));
        var t2 = catalog.Tenants["t2"].Mcp;
        Assert.True(t2.Allows("web", "anything"));
        Assert.True(t2.Allows("files", "search"));
        Assert.False(t2.Allows("files", "read"));
        Assert.True(catalog.Tenants["t3"].Mcp.Allows("web", "x"));
    }
}
