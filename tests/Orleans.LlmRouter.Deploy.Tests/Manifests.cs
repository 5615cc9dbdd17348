using k8s;
using k8s.Models;
using Orleans.LlmRouter.Deploy.Tests.Helm;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>The chart's output, as text per template and as validated Kubernetes objects.</summary>
internal sealed class Manifests
{
    private Manifests(IReadOnlyDictionary<string, string> files, List<IKubernetesObject> objects)
    {
        Files = files;
        Objects = objects;
    }

    public IReadOnlyDictionary<string, string> Files { get; }

    public List<IKubernetesObject> Objects { get; }

    /// <summary>The header of every committed manifest.</summary>
    public static string Header(string template) =>
        $"# Rendered from deploy/helm/orleans-llmrouter/templates/{template} with the chart's default values\n" +
        $"# (release '{Repository.ReleaseName}', namespace '{Repository.ReleaseNamespace}') by deploy/kubernetes/render.sh. Do not edit: change the chart.\n";

    /// <summary>The chart rendered with <paramref name="values"/> (default values when null), validated.</summary>
    public static Manifests FromChart(Action<Dictionary<string, object?>>? values = null)
    {
        var chart = new Chart(Repository.ChartDirectory);
        var effective = chart.DefaultValues();
        values?.Invoke(effective);
        return FromFiles(chart.Render(Repository.ReleaseName, Repository.ReleaseNamespace, effective));
    }

    /// <summary>The committed plain manifests (deploy/kubernetes/*.yaml), validated.</summary>
    public static Manifests Committed() =>
        FromFiles(Directory.EnumerateFiles(Repository.ManifestDirectory, "*.yaml").Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal));

    private static Manifests FromFiles(IReadOnlyDictionary<string, string> files)
    {
        var objects = new List<IKubernetesObject>();
        foreach (var (name, text) in files)
        {
            // Custom resources are validated by their own tests; everything else must be a Kubernetes API object.
            if (text.Contains("apiVersion: monitoring.coreos.com/", StringComparison.Ordinal))
            {
                continue;
            }

            objects.AddRange(KubernetesSchema.Load(text, name));
        }

        return new Manifests(files, objects);
    }

    public T Single<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        Objects.OfType<T>().SingleOrDefault(o => o.Metadata.Name == name) ?? throw new InvalidOperationException($"no {typeof(T).Name} named {name}");

    public IEnumerable<T> All<T>() => Objects.OfType<T>();
}
