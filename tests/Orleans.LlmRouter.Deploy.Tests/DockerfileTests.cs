using k8s.Models;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>
/// deploy/Dockerfile read as text (no container engine runs here): the runtime stage is the small ASP.NET runtime image,
/// non-root with the user the chart runs as, has a health check on /readyz, and installs nothing.
/// </summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(Repository.Root, "deploy", "Dockerfile"))
        .Where(l => l.Length > 0 && !l.TrimStart().StartsWith('#')).ToArray();

    private static string[] RuntimeStage => Lines[Array.FindLastIndex(Lines, l => l.StartsWith("FROM ", StringComparison.Ordinal))..];

    [Fact]
    public void The_runtime_stage_is_the_chiseled_aspnet_image_and_installs_nothing()
    {
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:", Lines.First(l => l.StartsWith("FROM ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0-", RuntimeStage[0], StringComparison.Ordinal);
        Assert.Contains("chiseled", RuntimeStage[0], StringComparison.Ordinal);
        Assert.DoesNotContain(RuntimeStage, l => l.StartsWith("RUN ", StringComparison.Ordinal)); // no shell there anyway
    }

    [Fact]
    public void It_runs_as_the_non_root_user_the_chart_runs_as()
    {
        var user = RuntimeStage.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();
        Assert.NotEqual("0", user);
        Assert.NotEqual("root", user);
        var manifests = Manifests.Committed();
        foreach (var pod in new[] { manifests.Single<V1StatefulSet>("llmrouter-silo").Spec.Template.Spec, manifests.Single<V1Deployment>("llmrouter-frontend").Spec.Template.Spec })
        {
            Assert.Equal(user, pod.SecurityContext.RunAsUser?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The one directory it writes outside /tmp belongs to that user.
        Assert.Contains(RuntimeStage, l => l.StartsWith("COPY ", StringComparison.Ordinal) && l.Contains($"--chown={user}:", StringComparison.Ordinal) && l.EndsWith("/var/lib/llmrouter", StringComparison.Ordinal));
    }

    [Fact]
    public void It_has_a_health_check_on_readyz_and_exposes_the_ports_the_chart_uses()
    {
        var check = Assert.Single(RuntimeStage, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.Contains("\"--probe\", \"http://127.0.0.1:8080/readyz\"", check, StringComparison.Ordinal);
        var exposed = Assert.Single(RuntimeStage, l => l.StartsWith("EXPOSE ", StringComparison.Ordinal)).Split(' ').Skip(1).Select(int.Parse).ToHashSet();
        var silo = Manifests.Committed().Single<V1StatefulSet>("llmrouter-silo").Spec.Template.Spec.Containers[0];
        Assert.Subset(exposed, silo.Ports.Select(p => p.ContainerPort).ToHashSet());
    }
}
