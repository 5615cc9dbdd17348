using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Deploy.Tests.Helm;

/// <summary>
/// A chart's values as Helm sees them: maps, lists and typed scalars (YAML 1.2 core schema: plain <c>true</c> is a bool,
/// plain <c>3</c> an integer, plain <c>null</c>/<c>~</c>/empty is null, anything quoted is a string), and <c>toYaml</c>.
/// </summary>
internal static partial class ChartValues
{
    /// <summary>Parses a values file.</summary>
    public static Dictionary<string, object?> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        return Convert(stream.Documents[0].RootNode) as Dictionary<string, object?> ?? throw new InvalidOperationException("values must be a map");
    }

    /// <summary>Sets <paramref name="path"/> (dotted) to <paramref name="value"/>, as <c>--set</c> does.</summary>
    public static void Set(Dictionary<string, object?> values, string path, object? value)
    {
        var parts = path.Split('.');
        var map = values;
        foreach (var part in parts[..^1])
        {
            if (map.TryGetValue(part, out var next) && next is Dictionary<string, object?> child)
            {
                map = child;
            }
            else
            {
                child = new Dictionary<string, object?>(StringComparer.Ordinal);
                map[part] = child;
                map = child;
            }
        }

        map[parts[^1]] = value;
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => Convert(c.Value), StringComparer.Ordinal),
        YamlSequenceNode list => list.Children.Select(Convert).ToList(),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    private static object? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return text;
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return true;
        }

        if (text is "false" or "False" or "FALSE")
        {
            return false;
        }

        if (IntPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return text;
    }

    /// <summary>Helm's <c>toYaml</c>: block style, map keys sorted, no trailing newline.</summary>
    public static string ToYaml(object? value)
    {
        var text = new StringBuilder();
        Write(text, value, 0);
        return text.ToString().TrimEnd('\n');
    }

    private static void Write(StringBuilder text, object? value, int indent)
    {
        var pad = new string(' ', indent);
        switch (value)
        {
            case Dictionary<string, object?> map:
                foreach (var (key, item) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (item is Dictionary<string, object?> { Count: > 0 } or List<object?> { Count: > 0 })
                    {
                        text.Append(pad).Append(ScalarText(key)).Append(":\n");
                        Write(text, item, item is List<object?> ? indent : indent + 2);
                    }
                    else
                    {
                        text.Append(pad).Append(ScalarText(key)).Append(": ").Append(Inline(item)).Append('\n');
                    }
                }

                break;
            case List<object?> list:
                foreach (var item in list)
                {
                    if (item is Dictionary<string, object?> { Count: > 0 } or List<object?> { Count: > 0 })
                    {
                        var nested = new StringBuilder();
                        Write(nested, item, indent + 2);
                        var body = nested.ToString();
                        text.Append(pad).Append("- ").Append(body.AsSpan(indent + 2));
                    }
                    else
                    {
                        text.Append(pad).Append("- ").Append(Inline(item)).Append('\n');
                    }
                }

                break;
            default:
                text.Append(pad).Append(Inline(value)).Append('\n');
                break;
        }
    }

    private static string Inline(object? value) => value switch
    {
        null => "null",
        Dictionary<string, object?> => "{}",
        List<object?> => "[]",
        _ => ScalarText(Format(value)),
    };

    /// <summary>A scalar as Go's template prints it.</summary>
    public static string Format(object? value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        int n => n.ToString(CultureInfo.InvariantCulture),
        null => throw new InvalidOperationException("a missing value is printed (Helm would print <no value>)"),
        _ => throw new InvalidOperationException($"cannot print a {value.GetType().Name} (use toYaml)"),
    };

    private static string ScalarText(string text) =>
        text.Length == 0 || NeedsQuotes().IsMatch(text) || text is "true" or "false" or "null" or "~" || IntPattern().IsMatch(text) || FloatPattern().IsMatch(text)
            ? Quote(text)
            : text;

    /// <summary>Go's <c>%q</c> for the strings a chart has (sprig's <c>quote</c>).</summary>
    public static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?([0-9]*\.[0-9]+|[0-9]+\.)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"^[\s\-?:,\[\]{}#&*!|>'""%@`]|:\s|\s#|\s$|:$|\n")]
    private static partial Regex NeedsQuotes();
}
