using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Samples.CoHosted;

/// <summary>
/// Finds the catalog like the gateway does: the configured path, else <c>./config</c>, else the nearest <c>config/</c>
/// with YAML files above the app's base directory (so <c>dotnet run --project samples/...</c> finds the repository's).
/// </summary>
internal static class SampleConfigLocator
{
    public static string Find(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        var local = Path.Combine(Directory.GetCurrentDirectory(), "config");
        if (Directory.Exists(local))
        {
            return local;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "config");
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "*.yaml").Any())
            {
                return candidate;
            }
        }

        throw new ConfigurationException([new ConfigError(new SourceLocation("config", 0, 0), "no configuration found: pass --LlmRouter:ConfigPath=<dir> or run from the repository root")]);
    }
}
