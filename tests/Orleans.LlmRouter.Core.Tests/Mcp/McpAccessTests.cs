using Orleans.LlmRouter.Core.Mcp;

namespace Orleans.LlmRouter.Core.Tests.Mcp;

public sealed class McpAccessTests
{
    private static McpAllowList List(string[] servers, string[] tools) =>
        new(servers.ToHashSet(StringComparer.Ordinal), tools.ToHashSet(StringComparer.Ordinal));

    [Fact]
    public void A_child_level_only_narrows_its_parent()
    {
        var tenant = List(["files", "web"], ["files__read", "files__write", "web__*"]);
        var key = List(["files", "db"], ["files__read", "files__delete"]); // asks for more than the tenant has: ignored
        var access = new McpAccess([tenant, key]);
        Assert.True(access.Allows("files", "read"));
        Assert.False(access.Allows("files", "write"));  // the key narrows
        Assert.False(access.Allows("files", "delete")); // the tenant never allowed it
        Assert.False(access.AllowsServer("db"));       // the key cannot widen
        Assert.False(access.AllowsServer("web"));      // the key narrows
        Assert.True(new McpAccess([tenant]).Allows("web", "anything"));
        Assert.True(new McpAccess([McpAllowList.All]).Allows("x", "y"));
    }

    [Theory]
    [InlineData("files__read", "files", "read")]
    [InlineData("my-server__a__b", "my-server", "a__b")]
    public void Names_split_at_the_first_separator(string name, string server, string tool)
    {
        Assert.True(McpToolNames.TrySplit(name, out var s, out var t));
        Assert.Equal((server, tool), (s, t));
        Assert.Equal(name, McpToolNames.Namespaced(s, t));
    }

    [Theory]
    [InlineData("read")]
    [InlineData("__read")]
    [InlineData("files__")]
    public void A_name_without_server_or_tool_does_not_split(string name) => Assert.False(McpToolNames.TrySplit(name, out _, out _));

    [Theory]
    [InlineData("files", true)]
    [InlineData("my-server-2", true)]
    [InlineData("my_server", false)]
    [InlineData("-x", false)]
    [InlineData("a.b", false)]
    public void Server_ids_keep_the_separator_unambiguous(string id, bool valid) => Assert.Equal(valid, McpToolNames.IsValidServerId(id));
}
