using System.Globalization;
using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

/// <summary>Typed access to YAML mapping nodes that records every problem (with file and line) instead of throwing.</summary>
internal sealed class YamlNodeReader
{
    private readonly List<ConfigError> _errors;

    public YamlNodeReader(string file, List<ConfigError> errors)
    {
        File = file;
        _errors = errors;
    }

    public string File { get; }

    public SourceLocation At(YamlNode node) => new(File, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, string message) => _errors.Add(new ConfigError(At(node), message));

    /// <summary>Reports keys of <paramref name="map"/> outside <paramref name="allowed"/> (catches typos).</summary>
    public void CheckKeys(YamlMappingNode map, string what, params string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? string.Empty;
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                var hint = name is "api_key" or "key" or "apikey"
                    ? "API keys are never written in YAML; name the environment variable with 'api_key_env'"
                    : "allowed: " + string.Join(", ", allowed);
                Error(key, $"unknown field '{name}' in {what} ({hint})");
            }
        }
    }

#pragma warning disable CA1822 // kept an instance member so every accessor reads alike
    public YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;
#pragma warning restore CA1822

    public string? String(YamlMappingNode map, string key, string what, bool required = false)
    {
        var node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Error(map, $"{what} is missing required field '{key}'");
            }

            return null;
        }

        if (node is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
        {
            Error(node, $"'{key}' of {what} must be a non-empty string");
            return null;
        }

        return scalar.Value;
    }

    public long? Long(YamlMappingNode map, string key, string what, bool required = false, long min = long.MinValue)
    {
        var text = Scalar(map, key, what, required);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text.Value.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Error(text.Value.Node, $"'{key}' of {what} must be a whole number, not '{text.Value.Value}'");
            return null;
        }

        if (value < min)
        {
            Error(text.Value.Node, $"'{key}' of {what} must be at least {min}, not {value}");
            return null;
        }

        return value;
    }

    public int? Int(YamlMappingNode map, string key, string what, bool required = false, int min = int.MinValue)
    {
        var value = Long(map, key, what, required, min);
        if (value is > int.MaxValue)
        {
            Error(Get(map, key)!, $"'{key}' of {what} is too large");
            return null;
        }

        return (int?)value;
    }

    public decimal? Decimal(YamlMappingNode map, string key, string what, bool required = false, bool nonNegative = true)
    {
        var text = Scalar(map, key, what, required);
        if (text is null)
        {
            return null;
        }

        if (!decimal.TryParse(text.Value.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            Error(text.Value.Node, $"'{key}' of {what} must be a number, not '{text.Value.Value}'");
            return null;
        }

        if (nonNegative && value < 0)
        {
            Error(text.Value.Node, $"'{key}' of {what} must not be negative ({value.ToString(CultureInfo.InvariantCulture)})");
            return null;
        }

        return value;
    }

    public double? Double(YamlMappingNode map, string key, string what, double min, double max)
    {
        var value = Decimal(map, key, what, nonNegative: false);
        if (value is null)
        {
            return null;
        }

        var d = (double)value.Value;
        if (d < min || d > max)
        {
            Error(Get(map, key)!, $"'{key}' of {what} must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return d;
    }

    public bool? Bool(YamlMappingNode map, string key, string what)
    {
        var text = Scalar(map, key, what, required: false);
        if (text is null)
        {
            return null;
        }

        if (!bool.TryParse(text.Value.Value, out var value))
        {
            Error(text.Value.Node, $"'{key}' of {what} must be true or false");
            return null;
        }

        return value;
    }

    public IReadOnlyList<(string Value, YamlNode Node)> StringList(YamlMappingNode map, string key, string what, bool required = false)
    {
        var node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Error(map, $"{what} is missing required field '{key}'");
            }

            return [];
        }

        return StringList(node, $"'{key}' of {what}");
    }

    public IReadOnlyList<(string Value, YamlNode Node)> StringList(YamlNode node, string what)
    {
        if (node is not YamlSequenceNode seq)
        {
            Error(node, $"{what} must be a list");
            return [];
        }

        var list = new List<(string, YamlNode)>();
        foreach (var item in seq.Children)
        {
            if (item is YamlScalarNode { Value: { Length: > 0 } v })
            {
                list.Add((v, item));
            }
            else
            {
                Error(item, $"{what} must hold only non-empty strings");
            }
        }

        return list;
    }

    public YamlMappingNode? Map(YamlMappingNode map, string key, string what)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlMappingNode child)
        {
            Error(node, $"'{key}' of {what} must be a mapping");
            return null;
        }

        return child;
    }

    public IEnumerable<YamlMappingNode> Items(YamlNode node, string what)
    {
        if (node is not YamlSequenceNode seq)
        {
            Error(node, $"'{what}' must be a list");
            yield break;
        }

        foreach (var item in seq.Children)
        {
            if (item is YamlMappingNode map)
            {
                yield return map;
            }
            else
            {
                Error(item, $"each entry of '{what}' must be a mapping");
            }
        }
    }

    private (string Value, YamlNode Node)? Scalar(YamlMappingNode map, string key, string what, bool required)
    {
        var node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Error(map, $"{what} is missing required field '{key}'");
            }

            return null;
        }

        if (node is not YamlScalarNode { Value: { Length: > 0 } value })
        {
            Error(node, $"'{key}' of {what} must be a single value");
            return null;
        }

        return (value, node);
    }
}
