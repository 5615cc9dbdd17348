using System.Reflection;
using PublicApiGenerator;

namespace Orleans.LlmRouter.Host.Tests.PublicApi;

/// <summary>
/// The public surface of every shipped assembly, pinned: a change to it fails here until the snapshot under
/// <c>tests/Orleans.LlmRouter.Host.Tests/PublicApi/</c> is regenerated on purpose
/// (<c>LLMROUTER_UPDATE_PUBLIC_API=1 dotnet test --filter PublicApi</c>) and reviewed in the diff.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Assemblies =>
    [
        "Orleans.LlmRouter.Contracts",
        "Orleans.LlmRouter.Client",
        "Orleans.LlmRouter.Core",
        "Orleans.LlmRouter.Configuration",
        "Orleans.LlmRouter.Providers",
        "Orleans.LlmRouter.Grains",
        "Orleans.LlmRouter.Ledger",
        "Orleans.LlmRouter.Host",
    ];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void The_public_api_changes_only_on_purpose(string assembly)
    {
        var api = Assembly.Load(assembly).GeneratePublicApi(new ApiGeneratorOptions
        {
            // Assembly attributes (Orleans application parts, target framework) follow package versions, and the
            // Orleans SDK's generated code is not ours to pin.
            IncludeAssemblyAttributes = false,
            DenyNamespacePrefixes = ["OrleansCodeGen", "ForwardingGenerated"],
        }).ReplaceLineEndings("\n");
        var name = assembly + ".txt";
        if (Environment.GetEnvironmentVariable("LLMROUTER_UPDATE_PUBLIC_API") == "1")
        {
            File.WriteAllText(Path.Combine(SourceDirectory(), name), api);
            return;
        }

        var snapshot = Path.Combine(AppContext.BaseDirectory, "PublicApi", name);
        Assert.True(File.Exists(snapshot), $"no public-API snapshot for {assembly}: run with LLMROUTER_UPDATE_PUBLIC_API=1 and commit {name}");
        Assert.Equal(File.ReadAllText(snapshot).ReplaceLineEndings("\n"), api);
    }

    private static string SourceDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.LlmRouter.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "Orleans.LlmRouter.Host.Tests", "PublicApi");
            }
        }

        throw new InvalidOperationException("repository root not found");
    }
}
