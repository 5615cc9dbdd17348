namespace Orleans.LlmRouter.Core.Mcp;

/// <summary>
/// The allow-lists on a caller's path, outermost first (today: the tenant's). Every level must allow a server or tool:
/// the effective set is the intersection, so a child never widens its parent.
/// </summary>
internal sealed class McpAccess(IReadOnlyList<McpAllowList> path)
{
    public IReadOnlyList<McpAllowList> Path { get; } = path;

    /// <summary>Whether some tool of <paramref name="server"/> may be reached at all.</summary>
    public bool AllowsServer(string server)
    {
        foreach (var level in Path)
        {
            if (!level.AllowsServer(server))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="tool"/> of <paramref name="server"/> may be called.</summary>
    public bool Allows(string server, string tool)
    {
        foreach (var level in Path)
        {
            if (!level.Allows(server, tool))
            {
                return false;
            }
        }

        return true;
    }
}
