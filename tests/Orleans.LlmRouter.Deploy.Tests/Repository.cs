namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>Paths in the repository the tests run from.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string ChartDirectory => Path.Combine(Root, "deploy", "helm", "orleans-llmrouter");

    public static string ManifestDirectory => Path.Combine(Root, "deploy", "kubernetes");

    /// <summary>The release the committed manifests are rendered as.</summary>
    public const string ReleaseName = "llmrouter";

    public const string ReleaseNamespace = "llmrouter";

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.LlmRouter.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Orleans.LlmRouter.sln not found above " + AppContext.BaseDirectory);
    }
}
