namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>The checks the manifest tests rely on catch what they are meant to catch.</summary>
public sealed class ValidatorTests
{
    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: x
        spec:
          selector:
            matchLabels: { app: x }
          template:
            metadata:
              labels: { app: x }
            spec:
              containers:
                - name: x
                  image: x:1
                  ports:
                    - containerPort: 8080
        """;

    [Fact]
    public void AValidObjectLoads() => Assert.Single(KubernetesSchema.Load(Deployment, "ok"));

    [Theory]
    [InlineData("containerPort: 8080", "containerPorts: 8080", "not a valid Kubernetes object")] // unknown field
    [InlineData("containerPort: 8080", "containerPort: eighty", "not a valid Kubernetes object")] // wrong type
    [InlineData("kind: Deployment", "kind: Deploymnet", "not a valid Kubernetes object")] // unknown kind
    [InlineData("- name: x\n          image: x:1", "- image: x:1", "spec.template.spec.containers[0].name")] // required field missing
    [InlineData("  selector:\n    matchLabels: { app: x }\n", "", "Deployment/x.spec.selector")] // required field missing
    public void AnInvalidObjectIsRejected(string from, string to, string reason)
    {
        var broken = Deployment.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Deployment, broken);
        var error = Assert.Throws<ManifestException>(() => KubernetesSchema.Load(broken, "broken"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("- name: LlmRouter__Postgres\n  value: Host=db;Username=u;Password=hunter2;Database=d")]
    [InlineData("- name: OPENAI_API_KEY\n  value: sk-proj-0123456789abcdefghij")]
    [InlineData("- name: SOMETHING\n  value: sk-ant-api03-0123456789abcdefghij")]
    [InlineData("- name: DATABASE_URL\n  value: postgres://llmrouter:hunter2@db/llmrouter")]
    [InlineData("- name: X\n  value: \"-----BEGIN RSA PRIVATE KEY-----\"")]
    [InlineData("- name: AWS_ACCESS_KEY_ID\n  value: AKIAABCDEFGHIJKLMNOP")]
    public void ASecretValueInAManifestIsFound(string env)
    {
        var manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  env: |\n    ignored\nitems:\n" + string.Join('\n', env.Split('\n').Select(l => "  " + l)) + "\n";
        Assert.NotEmpty(SecretScanner.Scan(manifest, "x"));
    }

    [Fact]
    public void ASecretObjectIsFound() =>
        Assert.NotEmpty(SecretScanner.Scan("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n", "x"));

    [Fact]
    public void SecretReferencesAndAHashAreNotSecrets() =>
        Assert.Empty(SecretScanner.Scan("""
            env:
              - name: LlmRouter__Postgres
                valueFrom:
                  secretKeyRef: { name: llmrouter-postgres, key: connection-string }
              - name: LlmRouter__AdminKeyHash
                value: sha256:0000000000000000000000000000000000000000000000000000000000000000
            automountServiceAccountToken: true
            """, "x"));
}
