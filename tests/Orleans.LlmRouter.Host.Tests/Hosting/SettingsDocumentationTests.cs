using System.Reflection;
using Orleans.LlmRouter.Grains.Budgets;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>Every settable property of the options classes is a row of deploy/README.md's settings reference.</summary>
public sealed class SettingsDocumentationTests
{
    public static TheoryData<string> Keys()
    {
        var keys = new TheoryData<string>();
        foreach (var (type, prefix) in new (Type, string)[]
        {
            (typeof(LlmRouterOptions), "LlmRouter"),
            (typeof(LlmRouterStorageOptions), "LlmRouter"),
            (typeof(LlmRouterClusterOptions), "LlmRouter"),
            (typeof(SecureDefaultsOptions), "LlmRouter"),
            (typeof(ShutdownOptions), "LlmRouter"),
            (typeof(RequestLimitsOptions), RequestLimitsOptions.SectionName),
            (typeof(BudgetOptions), "LlmRouter:Budgets"),
            (typeof(RouterOptions), "LlmRouter:Router"),
            (typeof(Grains.Caching.ResponseCacheOptions), "LlmRouter:Cache"),
            (typeof(Orleans.LlmRouter.Host.Responses.ResponseStoreOptions), Orleans.LlmRouter.Host.Responses.ResponseStoreOptions.SectionName),
        })
        {
            foreach (var key in KeysOf(type, prefix))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Each_setting_is_documented_in_deploy_readme(string key)
    {
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "deploy", "README.md"));
        Assert.Contains("| `" + key + "` |", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_classes_hold_the_settings_read_at_start_up()
    {
        var keys = Keys().Select(k => (string)k.Data).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("LlmRouter:Storage", keys);
        Assert.Contains("LlmRouter:Membership:ProbeTimeout", keys);
        Assert.Contains("LlmRouter:AdminKeyHash", keys);
        Assert.Contains("LlmRouter:Limits:MaxBodyBytes", keys);
        Assert.Contains("LlmRouter:Responses:Retention", keys);
    }

    private static IEnumerable<string> KeysOf(Type type, string prefix)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var key = prefix + ":" + p.Name;
            var nested = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (nested.IsClass && nested != typeof(string))
            {
                foreach (var inner in KeysOf(nested, key))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return key;
            }
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.LlmRouter.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Orleans.LlmRouter.sln) was not found.");
    }
}
