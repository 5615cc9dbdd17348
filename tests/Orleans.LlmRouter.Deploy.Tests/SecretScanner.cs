using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Deploy.Tests;

/// <summary>
/// Finds secret values in manifests: any Secret object (its data would sit in the repository or the chart's output), a
/// literal value under a key or environment variable named like a credential (password, secret, token, api key,
/// connection string, the PostgreSQL setting), and strings shaped like one wherever they are (a connection string with
/// a password, a provider key prefix, a private key, an AWS access key id, a bearer token).
/// </summary>
internal static partial class SecretScanner
{
    /// <summary>Every finding in <paramref name="yaml"/> (empty when clean).</summary>
    public static List<string> Scan(string yaml, string source)
    {
        var findings = new List<string>();
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlMappingNode root && root.Children.TryGetValue(new YamlScalarNode("kind"), out var kind) && kind is YamlScalarNode { Value: "Secret" })
            {
                findings.Add($"{source}: a Secret object (create Secrets outside the chart; reference them)");
            }

            Walk(document.RootNode, "", source, findings);
        }

        return findings;
    }

    private static void Walk(YamlNode node, string path, string source, List<string> findings)
    {
        switch (node)
        {
            case YamlMappingNode map:
                // An env entry { name: X, value: literal } with a credential-like X.
                if (map.Children.TryGetValue(new YamlScalarNode("name"), out var envName) && envName is YamlScalarNode { Value: { } name }
                    && map.Children.TryGetValue(new YamlScalarNode("value"), out var envValue) && envValue is YamlScalarNode { Value: { Length: > 0 } literal }
                    && CredentialName().IsMatch(name) && !HashValue().IsMatch(literal))
                {
                    findings.Add($"{source}: {path}: environment variable {name} has a literal value (use valueFrom.secretKeyRef)");
                }

                foreach (var (key, value) in map.Children)
                {
                    var keyText = (key as YamlScalarNode)?.Value ?? "?";
                    if (value is YamlScalarNode { Value: { Length: > 0 } scalar } && CredentialName().IsMatch(keyText) && !HashValue().IsMatch(scalar) && !ReferenceKey().IsMatch(keyText))
                    {
                        findings.Add($"{source}: {path}.{keyText}: a credential-like key with a literal value");
                    }

                    Walk(value, $"{path}.{keyText}", source, findings);
                }

                break;
            case YamlSequenceNode list:
                var i = 0;
                foreach (var item in list)
                {
                    Walk(item, $"{path}[{i++}]", source, findings);
                }

                break;
            case YamlScalarNode { Value: { } text } when SecretShape().Match(text) is { Success: true } match:
                findings.Add($"{source}: {path}: a value shaped like a secret ({match.Value[..Math.Min(match.Value.Length, 12)]}…)");
                break;
        }
    }

    // Names of things that hold credentials (environment variables and keys), not the names of references to them.
    [GeneratedRegex(@"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key|connection[_-]?string|^LlmRouter__Postgres$|^PGPASSWORD$)")]
    private static partial Regex CredentialName();

    // Keys whose value names a Secret or a key in it (secretKeyRef.name/key, existingSecret, secretName), which is allowed.
    [GeneratedRegex(@"(?i)^(name|key|secretName|secretKey|existingSecret|automountServiceAccountToken)$")]
    private static partial Regex ReferenceKey();

    // A digest (the admin key hash) is not the key.
    [GeneratedRegex(@"^sha256:[0-9a-fA-F]{64}$")]
    private static partial Regex HashValue();

    [GeneratedRegex(@"(?i)(password|pwd)\s*=\s*[^;\s]+|\bsk-[A-Za-z0-9_-]{16,}|\bsk-ant-[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{30,}|\bAKIA[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}|postgres(ql)?://[^:/\s]+:[^@\s]+@")]
    private static partial Regex SecretShape();
}
