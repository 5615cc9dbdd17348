namespace Orleans.LlmRouter.Core.Mcp;

/// <summary>
/// Which MCP servers and tools one level (today the tenant; a project or key once budget levels exist) may use.
/// Empty sets allow everything at that level. A tool entry is namespaced (<c>server__tool</c>) or a whole server
/// (<c>server__*</c>). A call passes only if every level on its path allows it (<see cref="McpAccess"/>), so a child
/// level can only narrow its parent.
/// </summary>
internal sealed record McpAllowList(IReadOnlySet<string> Servers, IReadOnlySet<string> Tools)
{
    /// <summary>No restriction.</summary>
    public static McpAllowList All { get; } = new(new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal));

    /// <summary>Whether this level allows any tool of <paramref name="server"/>.</summary>
    public bool AllowsServer(string server) => Servers.Count == 0 || Servers.Contains(server);

    /// <summary>Whether this level allows <paramref name="tool"/> of <paramref name="server"/>.</summary>
    public bool Allows(string server, string tool) =>
        AllowsServer(server) && (Tools.Count == 0 || Tools.Contains(McpToolNames.Namespaced(server, tool)) || Tools.Contains(server + McpToolNames.Separator + "*"));
}
