using k8s.Models;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>What the committed manifests (the chart's default rendering) must hold for a production cluster.</summary>
public sealed class ManifestTests
{
    private static readonly Manifests Committed = Manifests.Committed();

    private static V1StatefulSet Silos => Committed.Single<V1StatefulSet>("llmrouter-silo");

    private static V1Deployment FrontEnds => Committed.Single<V1Deployment>("llmrouter-frontend");

    public static TheoryData<string> Workloads => new() { "silo", "frontend" };

    private static V1PodTemplateSpec Template(string workload) => workload == "silo" ? Silos.Spec.Template : FrontEnds.Spec.Template;

    private static V1LabelSelector Selector(string workload) => workload == "silo" ? Silos.Spec.Selector : FrontEnds.Spec.Selector;

    private static V1Container Container(string workload) => Template(workload).Spec.Containers.Single();

    private static string? Env(string workload, string name) => Container(workload).Env.SingleOrDefault(e => e.Name == name)?.Value;

    private static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels) =>
        selector.MatchExpressions is null or { Count: 0 } && selector.MatchLabels.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);

    [Theory]
    [MemberData(nameof(Workloads))]
    public void ReadinessIsReadyzAndLivenessIsHealthzOnTheHttpPort(string workload)
    {
        var container = Container(workload);
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("/healthz", container.StartupProbe.HttpGet.Path);
        var http = container.Ports.Single(p => p.Name == "http");
        foreach (var probe in new[] { container.ReadinessProbe, container.LivenessProbe, container.StartupProbe })
        {
            Assert.Equal("http", probe.HttpGet.Port.Value);
            Assert.True(probe.TimeoutSeconds is > 0 && probe.PeriodSeconds is > 0);
        }

        // The process listens where the probes knock.
        Assert.Contains($"http://0.0.0.0:{http.ContainerPort}", Env(workload, "ASPNETCORE_URLS")!.Split(';'));

        // Liveness must not restart a pod that is only slow to become ready: it allows at least 20 s of failed checks.
        Assert.True(container.LivenessProbe.PeriodSeconds * container.LivenessProbe.FailureThreshold >= 20);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void APodDisruptionBudgetCoversEveryWorkload(string workload)
    {
        var budgets = Committed.All<V1PodDisruptionBudget>().Where(b => Selects(b.Spec.Selector, Template(workload).Metadata.Labels)).ToList();
        var budget = Assert.Single(budgets);
        Assert.Equal("1", budget.Spec.MaxUnavailable.Value);
        Assert.Null(budget.Spec.MinAvailable);

        // The workload's own selector selects its pods (and only the budget's pods are those).
        Assert.True(Selects(Selector(workload), Template(workload).Metadata.Labels));
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void AHorizontalPodAutoscalerScalesEveryWorkloadOnCpu(string workload)
    {
        var (kind, name) = workload == "silo" ? ("StatefulSet", Silos.Metadata.Name) : ("Deployment", FrontEnds.Metadata.Name);
        var hpa = Committed.All<V2HorizontalPodAutoscaler>().Single(h => h.Spec.ScaleTargetRef.Kind == kind && h.Spec.ScaleTargetRef.Name == name);
        Assert.Equal("apps/v1", hpa.Spec.ScaleTargetRef.ApiVersion);
        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal("Resource", metric.Type);
        Assert.Equal("cpu", metric.Resource.Name);
        Assert.Equal("Utilization", metric.Resource.Target.Type);
        Assert.InRange(metric.Resource.Target.AverageUtilization ?? 0, 10, 95);
        Assert.True(hpa.Spec.MinReplicas >= 2 && hpa.Spec.MaxReplicas >= hpa.Spec.MinReplicas);

        // CPU utilisation is a share of the request: without a CPU request the HPA has nothing to scale on.
        Assert.True(Container(workload).Resources.Requests.ContainsKey("cpu"));

        // Scale-in takes one pod at a time, so each leaving pod drains while the others carry the load.
        var policy = Assert.Single(hpa.Spec.Behavior.ScaleDown.Policies);
        Assert.Equal(("Pods", 1), (policy.Type, policy.Value));
    }

    [Fact]
    public void TheSilosRunOrleansKubernetesHostingWithThePodIdentityFromTheDownwardApi()
    {
        var container = Container("silo");
        Assert.Equal("true", Env("silo", "LlmRouter__KubernetesHosting"));
        Assert.Equal("silo", Env("silo", "LlmRouter__Role"));
        var fieldPaths = container.Env.Where(e => e.ValueFrom?.FieldRef is not null).ToDictionary(e => e.Name, e => e.ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.name", fieldPaths["POD_NAME"]);
        Assert.Equal("metadata.namespace", fieldPaths["POD_NAMESPACE"]);
        Assert.Equal("status.podIP", fieldPaths["POD_IP"]);

        // Membership stays on PostgreSQL.
        Assert.Equal("postgres", Env("silo", "LlmRouter__Clustering"));
        Assert.Equal("postgres", Env("frontend", "LlmRouter__Clustering"));

        // Orleans' Kubernetes hosting finds the silos of this cluster by these pod labels: they must carry our ids.
        var labels = Template("silo").Metadata.Labels;
        Assert.Equal(Env("silo", "LlmRouter__ClusterId"), labels["orleans/clusterId"]);
        Assert.Equal(Env("silo", "LlmRouter__ServiceId"), labels["orleans/serviceId"]);
        Assert.Equal(Env("silo", "LlmRouter__ClusterId"), Env("frontend", "LlmRouter__ClusterId"));
        Assert.Equal(Env("silo", "LlmRouter__ServiceId"), Env("frontend", "LlmRouter__ServiceId"));

        // The ports Orleans listens on are declared.
        Assert.Contains(container.Ports, p => p.Name == "silo" && p.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture) == Env("silo", "LlmRouter__SiloPort"));
        Assert.Contains(container.Ports, p => p.Name == "gateway" && p.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture) == Env("silo", "LlmRouter__GatewayPort"));
    }

    [Fact]
    public void TheSilosServiceAccountMayWatchAndLabelPodsAndNothingMore()
    {
        var account = Template("silo").Spec.ServiceAccountName;
        Assert.Equal(account, Committed.Single<V1ServiceAccount>(account).Metadata.Name);
        var binding = Committed.All<V1RoleBinding>().Single(b => b.Subjects.Any(s => s.Kind == "ServiceAccount" && s.Name == account));
        Assert.Equal(Repository.ReleaseNamespace, binding.Subjects.Single().NamespaceProperty);
        Assert.Equal(("rbac.authorization.k8s.io", "Role"), (binding.RoleRef.ApiGroup, binding.RoleRef.Kind));
        var role = Committed.Single<V1Role>(binding.RoleRef.Name);
        var rule = Assert.Single(role.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["get", "list", "patch", "watch"], rule.Verbs.Order(StringComparer.Ordinal));

        // Nothing cluster-wide, and the front ends (plain Orleans clients) get no API token at all.
        Assert.Empty(Committed.All<V1ClusterRole>());
        Assert.Empty(Committed.All<V1ClusterRoleBinding>());
        Assert.False(Template("frontend").Spec.AutomountServiceAccountToken);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void CredentialsComeFromSecretReferences(string workload)
    {
        var env = Container(workload).Env.ToDictionary(e => e.Name);
        var postgres = env["LlmRouter__Postgres"];
        Assert.Null(postgres.Value);
        Assert.Equal(("llmrouter-postgres", "connection-string"), (postgres.ValueFrom.SecretKeyRef.Name, postgres.ValueFrom.SecretKeyRef.Key));
        Assert.NotEqual(true, postgres.ValueFrom.SecretKeyRef.Optional);

        var admin = env["LlmRouter__AdminKeyHash"];
        Assert.Null(admin.Value);
        Assert.Equal("llmrouter-admin", admin.ValueFrom.SecretKeyRef.Name);

        // Every provider key of the shipped catalog is a reference to an optional Secret key (unset: provider disabled).
        foreach (var name in new[] { "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY" })
        {
            Assert.Null(env[name].Value);
            Assert.Equal("llmrouter-provider-keys", env[name].ValueFrom.SecretKeyRef.Name);
            Assert.True(env[name].ValueFrom.SecretKeyRef.Optional);
        }

        // No dev-key or simulated-provider escape hatch is rendered.
        Assert.DoesNotContain(env.Keys, k => k is "LlmRouter__AllowDevKeys" or "LlmRouter__AllowSimulated");
    }

    [Fact]
    public void NoManifestHoldsASecretValue()
    {
        Assert.Empty(Committed.Files.SelectMany(f => SecretScanner.Scan(f.Value, f.Key)));
        Assert.Empty(Committed.All<V1Secret>());
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void TheGracePeriodCoversTheDrain(string workload)
    {
        var delay = int.Parse(Env(workload, "LlmRouter__DrainDelaySeconds")!, System.Globalization.CultureInfo.InvariantCulture);
        var timeout = int.Parse(Env(workload, "LlmRouter__ShutdownTimeoutSeconds")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(delay >= 1, "readiness must turn before the pod stops taking requests");

        // delay (unready, still serving) + the stop bound + the 5 s exit margin after it, before the kubelet's SIGKILL.
        Assert.True(Template(workload).Spec.TerminationGracePeriodSeconds >= delay + timeout + 5);

        // Readiness notices the drain within the delay: one failed check (period) times the threshold.
        var readiness = Container(workload).ReadinessProbe;
        Assert.True(readiness.PeriodSeconds * readiness.FailureThreshold <= delay + timeout);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void PodsRunAsNonRootOnAReadOnlyRootFileSystem(string workload)
    {
        var pod = Template(workload).Spec;
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.NotEqual(0, pod.SecurityContext.RunAsUser);
        var container = Container(workload).SecurityContext;
        Assert.True(container.ReadOnlyRootFilesystem);
        Assert.False(container.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.Capabilities.Drop);

        // What must be writable is a volume: /tmp, and the ledger spool on the silos.
        var mounts = Container(workload).VolumeMounts.Select(m => m.MountPath).ToList();
        Assert.Contains("/tmp", mounts);
        if (workload == "silo")
        {
            Assert.Contains(Env(workload, "LlmRouter__SpoolDirectory"), mounts);
            Assert.Contains(Silos.Spec.VolumeClaimTemplates, c => c.Metadata.Name == "spool");
        }

        // The catalog comes from a ConfigMap mounted read-only where LlmRouter__ConfigPath points.
        var catalog = Container(workload).VolumeMounts.Single(m => m.Name == "catalog");
        Assert.True(catalog.ReadOnlyProperty);
        Assert.Equal(catalog.MountPath, Env(workload, "LlmRouter__ConfigPath"));
        Assert.Equal("llmrouter-catalog", pod.Volumes.Single(v => v.Name == "catalog").ConfigMap.Name);
    }

    [Fact]
    public void TheFrontEndServiceSendsHttpToTheFrontEndsOnly()
    {
        var service = Committed.Single<V1Service>("llmrouter-frontend");
        Assert.True(Selects(new V1LabelSelector { MatchLabels = service.Spec.Selector }, Template("frontend").Metadata.Labels));
        Assert.False(Selects(new V1LabelSelector { MatchLabels = service.Spec.Selector }, Template("silo").Metadata.Labels));
        Assert.Equal("http", Assert.Single(service.Spec.Ports).TargetPort.Value);
        Assert.Equal(Silos.Spec.ServiceName, Committed.Single<V1Service>("llmrouter-silo").Metadata.Name);
        Assert.Equal("None", Committed.Single<V1Service>("llmrouter-silo").Spec.ClusterIP);
    }
}
