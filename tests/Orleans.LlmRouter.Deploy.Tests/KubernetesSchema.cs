using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>
/// Offline validation of manifests against the Kubernetes API's types: the typed models of the official .NET client
/// (NuGet <c>KubernetesClient</c>, generated from the Kubernetes OpenAPI specification) read each YAML document
/// strictly — an unknown <c>apiVersion</c>/<c>kind</c>, an unknown or misspelt field, or a value of the wrong type fails —
/// and then the fields the OpenAPI specification marks required are checked on every object reached (the models do not
/// enforce them). Custom resources (a ServiceMonitor) are not Kubernetes API types and are checked by their tests.
/// </summary>
internal static class KubernetesSchema
{
    // "required" of the Kubernetes OpenAPI definitions, for the types our manifests use (io.k8s.api.*).
    private static readonly Dictionary<Type, string[]> Required = new()
    {
        [typeof(V1Container)] = ["name"],
        [typeof(V1ContainerPort)] = ["containerPort"],
        [typeof(V1EnvVar)] = ["name"],
        [typeof(V1SecretKeySelector)] = ["key"],
        [typeof(V1ConfigMapKeySelector)] = ["key"],
        [typeof(V1ObjectFieldSelector)] = ["fieldPath"],
        [typeof(V1HTTPGetAction)] = ["port"],
        [typeof(V1Volume)] = ["name"],
        [typeof(V1VolumeMount)] = ["name", "mountPath"],
        [typeof(V1PersistentVolumeClaimVolumeSource)] = ["claimName"],
        [typeof(V1PodSpec)] = ["containers"],
        [typeof(V1DeploymentSpec)] = ["selector", "template"],
        [typeof(V1StatefulSetSpec)] = ["selector", "template"],
        [typeof(V1ServicePort)] = ["port"],
        [typeof(V1PolicyRule)] = ["verbs"],
        [typeof(V1RoleRef)] = ["apiGroup", "kind", "name"],
        [typeof(Rbacv1Subject)] = ["kind", "name"],
        [typeof(V2HorizontalPodAutoscalerSpec)] = ["scaleTargetRef", "maxReplicas"],
        [typeof(V2CrossVersionObjectReference)] = ["kind", "name"],
        [typeof(V2MetricSpec)] = ["type"],
        [typeof(V2ResourceMetricSource)] = ["name", "target"],
        [typeof(V2MetricTarget)] = ["type"],
        [typeof(V2HPAScalingPolicy)] = ["type", "value", "periodSeconds"],
        [typeof(V1LabelSelectorRequirement)] = ["key", "operator"],
        [typeof(V1SeccompProfile)] = ["type"],
    };

    /// <summary>Reads every document of <paramref name="yaml"/> as a Kubernetes object; throws on the first invalid one.</summary>
    public static List<IKubernetesObject> Load(string yaml, string source)
    {
        List<object> documents;
        try
        {
            documents = KubernetesYaml.LoadAllFromString(yaml, typeMap: null, strict: true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ManifestException($"{source}: not a valid Kubernetes object: {ex.GetBaseException().Message}", ex);
        }

        var objects = new List<IKubernetesObject>();
        foreach (var document in documents)
        {
            if (document is not IKubernetesObject<V1ObjectMeta> k8sObject)
            {
                throw new ManifestException($"{source}: a document is not a Kubernetes object ({document?.GetType().Name ?? "empty"})");
            }

            if (string.IsNullOrEmpty(k8sObject.Metadata?.Name))
            {
                throw new ManifestException($"{source}: {k8sObject.Kind} without metadata.name");
            }

            var missing = new List<string>();
            CheckRequired(k8sObject, $"{k8sObject.Kind}/{k8sObject.Metadata.Name}", missing, new HashSet<object>(ReferenceEqualityComparer.Instance));
            if (missing.Count > 0)
            {
                throw new ManifestException($"{source}: required field(s) missing: {string.Join(", ", missing)}");
            }

            objects.Add(k8sObject);
        }

        return objects;
    }

    private static void CheckRequired(object value, string path, List<string> missing, HashSet<object> seen)
    {
        if (!seen.Add(value))
        {
            return;
        }

        var type = value.GetType();
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        if (Required.TryGetValue(type, out var required))
        {
            foreach (var name in required)
            {
                var property = properties.Single(p => JsonName(p) == name);
                if (property.GetValue(value) is null or "")
                {
                    missing.Add($"{path}.{name}");
                }
            }
        }

        foreach (var property in properties)
        {
            var child = property.GetValue(value);
            var childPath = $"{path}.{JsonName(property)}";
            if (child is null or string || !IsModel(child.GetType()) && child is not IList)
            {
                continue;
            }

            if (child is IList list)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is { } item && IsModel(item.GetType()))
                    {
                        CheckRequired(item, $"{childPath}[{i}]", missing, seen);
                    }
                }
            }
            else
            {
                CheckRequired(child, childPath, missing, seen);
            }
        }
    }

    private static bool IsModel(Type type) => type.Namespace == "k8s.Models" && type.IsClass && type != typeof(IntOrString) && type != typeof(ResourceQuantity);

    private static string JsonName(PropertyInfo property) => property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? property.Name;
}

/// <summary>A manifest that is not a valid Kubernetes object.</summary>
internal sealed class ManifestException(string message, Exception? inner = null) : Exception(message, inner);
