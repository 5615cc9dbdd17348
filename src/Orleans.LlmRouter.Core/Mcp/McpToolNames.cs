using System.Text.RegularExpressions;

namespace Orleans.LlmRouter.Core.Mcp;

/// <summary>
/// Gateway tool names: <c>server__tool</c>. The MCP spec's tool names are 1–128 characters of letters, digits,
/// <c>_</c>, <c>-</c> and <c>.</c>; a server id is kept to letters, digits and <c>-</c> (no <c>_</c>) so the first
/// <c>__</c> always ends it.
/// </summary>
internal static partial class McpToolNames
{
    /// <summary>Between the server id and the tool name.</summary>
    public const string Separator = "__";

    public static string Namespaced(string server, string tool) => server + Separator + tool;

    /// <summary>Splits a gateway tool name into its server id and the server's own tool name.</summary>
    public static bool TrySplit(string name, out string server, out string tool)
    {
        ArgumentNullException.ThrowIfNull(name);
        var at = name.IndexOf(Separator, StringComparison.Ordinal);
        if (at <= 0 || at + Separator.Length >= name.Length)
        {
            server = tool = string.Empty;
            return false;
        }

        server = name[..at];
        tool = name[(at + Separator.Length)..];
        return true;
    }

    /// <summary>Whether <paramref name="id"/> can be an MCP server id (letters, digits and <c>-</c>, up to 48).</summary>
    public static bool IsValidServerId(string id) => ServerIdPattern().IsMatch(id);

    /// <summary>Whether <paramref name="name"/> is a valid MCP tool name (the spec's characters and length).</summary>
    public static bool IsValidToolName(string name) => ToolNamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,47})$")]
    private static partial Regex ServerIdPattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,128}$")]
    private static partial Regex ToolNamePattern();
}
