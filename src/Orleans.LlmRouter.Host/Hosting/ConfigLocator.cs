using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Finds the configuration: the configured path, else <c>./config</c>, else the nearest <c>config/</c> directory
/// above the application's base directory (so <c>dotnet run --project src/...</c> finds the repository's config).
/// </summary>
internal static class ConfigLocator
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

        throw new ConfigurationException([new ConfigError(new SourceLocation("config", 0, 0), "no configuration found: set LlmRouter:ConfigPath or run from the repository root")]);
    }
}
