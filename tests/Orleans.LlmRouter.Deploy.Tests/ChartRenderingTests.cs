using System.Text;
using k8s.Models;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>
/// The plain manifests under deploy/kubernetes/ are the chart rendered with its default values, so users without Helm
/// apply exactly what the chart installs. <c>deploy/kubernetes/render.sh</c> rewrites them (it runs
/// <see cref="CommittedManifestsAreTheRenderedChart"/> with <c>LLMROUTER_RENDER_MANIFESTS=1</c>).
/// </summary>
public sealed class ChartRenderingTests
{
    [Fact]
    public void CommittedManifestsAreTheRenderedChart()
    {
        var rendered = Manifests.FromChart().Files.ToDictionary(f => f.Key, f => Manifests.Header(f.Key) + f.Value, StringComparer.Ordinal);
        if (Environment.GetEnvironmentVariable("LLMROUTER_RENDER_MANIFESTS") == "1")
        {
            Directory.CreateDirectory(Repository.ManifestDirectory);
            foreach (var stale in Directory.EnumerateFiles(Repository.ManifestDirectory, "*.yaml"))
            {
                File.Delete(stale);
            }

            foreach (var (name, text) in rendered)
            {
                File.WriteAllText(Path.Combine(Repository.ManifestDirectory, name), text, new UTF8Encoding(false));
            }
        }

        var committed = Directory.EnumerateFiles(Repository.ManifestDirectory, "*.yaml")
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);
        Assert.Equal(rendered.Keys.Order(StringComparer.Ordinal), committed.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, text) in rendered)
        {
            Assert.True(text == committed[name], $"deploy/kubernetes/{name} differs from the chart's rendering: run deploy/kubernetes/render.sh");
        }
    }

    [Fact]
    public void EveryCommittedManifestIsAValidKubernetesObject()
    {
        var manifests = Manifests.Committed();
        var kinds = manifests.Objects.Select(o => $"{o.ApiVersion}/{o.Kind}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                "apps/v1/Deployment", "apps/v1/StatefulSet", "autoscaling/v2/HorizontalPodAutoscaler", "autoscaling/v2/HorizontalPodAutoscaler",
                "policy/v1/PodDisruptionBudget", "policy/v1/PodDisruptionBudget", "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding",
                "v1/Service", "v1/Service", "v1/Service", "v1/ServiceAccount",
            ],
            kinds);
    }

    public static TheoryData<string, object?> Variants => new()
    {
        { "silo.autoscaling.enabled", false },
        { "frontend.autoscaling.enabled", false },
        { "serviceMonitor.enabled", true },
        { "ledger.spoolClaim", "llmrouter-spool" },
        { "catalog.configMap", "" },
        { "admin.keyHash", "sha256:" + new string('a', 64) },
        { "telemetry.otlpEndpoint", "http://otel-collector.observability:4317" },
        { "rbac.create", false },
        { "serviceAccount.create", false },
        { "serviceAccount.name", "existing-account" },
        { "providerKeys", new List<object?>() },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryVariantOfTheValuesRendersValidObjectsWithoutSecrets(string path, object? value)
    {
        var manifests = Manifests.FromChart(v => Helm.ChartValues.Set(v, path, value));
        Assert.NotEmpty(manifests.Objects);
        Assert.Empty(manifests.Files.SelectMany(f => SecretScanner.Scan(f.Value, f.Key)));
    }

    [Fact]
    public void WithoutAutoscalingTheWorkloadsCarryTheirReplicasAndNoHpaIsRendered()
    {
        var manifests = Manifests.FromChart(v =>
        {
            Helm.ChartValues.Set(v, "silo.autoscaling.enabled", false);
            Helm.ChartValues.Set(v, "frontend.autoscaling.enabled", false);
        });
        Assert.Empty(manifests.All<V2HorizontalPodAutoscaler>());
        Assert.Equal(3, manifests.Single<V1StatefulSet>("llmrouter-silo").Spec.Replicas);
        Assert.Equal(2, manifests.Single<V1Deployment>("llmrouter-frontend").Spec.Replicas);

        // With autoscaling (the default) the HPA owns the replica count: a workload that also sets it would be reset on every apply.
        var autoscaled = Manifests.Committed();
        Assert.Null(autoscaled.Single<V1StatefulSet>("llmrouter-silo").Spec.Replicas);
        Assert.Null(autoscaled.Single<V1Deployment>("llmrouter-frontend").Spec.Replicas);
    }

    [Fact]
    public void AnAdminKeyHashValueReplacesTheSecretReference()
    {
        var hash = "sha256:" + new string('b', 64);
        var manifests = Manifests.FromChart(v => Helm.ChartValues.Set(v, "admin.keyHash", hash));
        var env = manifests.Single<V1StatefulSet>("llmrouter-silo").Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "LlmRouter__AdminKeyHash");
        Assert.Equal(hash, env.Value);
        Assert.Null(env.ValueFrom);
    }

    [Fact]
    public void AServiceMonitorScrapesTheMetricsPortOfTheHeadlessMetricsService()
    {
        var manifests = Manifests.FromChart(v => Helm.ChartValues.Set(v, "serviceMonitor.enabled", true));
        var monitor = Helm.ChartValues.Parse(manifests.Files["servicemonitor.yaml"]);
        Assert.Equal("monitoring.coreos.com/v1", monitor["apiVersion"]);
        Assert.Equal("ServiceMonitor", monitor["kind"]);
        var spec = (Dictionary<string, object?>)monitor["spec"]!;
        var selector = (Dictionary<string, object?>)((Dictionary<string, object?>)spec["selector"]!)["matchLabels"]!;
        var endpoint = (Dictionary<string, object?>)((List<object?>)spec["endpoints"]!).Single()!;

        var service = manifests.All<V1Service>().Single(s => selector.All(l => s.Metadata.Labels.TryGetValue(l.Key, out var value) && value == (string?)l.Value));
        Assert.Equal("llmrouter-metrics", service.Metadata.Name);
        Assert.Equal("/metrics", endpoint["path"]);
        var port = service.Spec.Ports.Single(p => p.Name == (string?)endpoint["port"]);

        // The metrics port is a container port of both workloads, and no client-facing Service exposes it.
        foreach (var pod in new[] { manifests.Single<V1StatefulSet>("llmrouter-silo").Spec.Template, manifests.Single<V1Deployment>("llmrouter-frontend").Spec.Template })
        {
            Assert.Contains(pod.Spec.Containers[0].Ports, p => p.Name == port.TargetPort.Value && p.ContainerPort == port.Port);
        }

        Assert.DoesNotContain(manifests.Single<V1Service>("llmrouter-frontend").Spec.Ports, p => p.TargetPort.Value == "metrics");
    }
}
