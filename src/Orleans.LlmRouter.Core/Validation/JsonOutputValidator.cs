using System.Text.Json;

namespace Orleans.LlmRouter.Core.Validation;

/// <summary>
/// Checks a model's structured output: that it is JSON (an object for JSON mode), and that it satisfies the
/// requested schema's structural keywords — type, properties, required, items, enum, const, additionalProperties:false,
/// anyOf/oneOf. Returns null when valid, otherwise the first violation with its JSON path.
/// </summary>
internal static class JsonOutputValidator
{
    public static string? Validate(string text, string? schemaJson)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            return "output is not valid JSON: " + ex.Message;
        }

        using (doc)
        {
            if (string.IsNullOrWhiteSpace(schemaJson))
            {
                return doc.RootElement.ValueKind == JsonValueKind.Object ? null : "output is not a JSON object";
            }

            using var schema = JsonDocument.Parse(schemaJson);
            return Check(doc.RootElement, schema.RootElement, "$", 0);
        }
    }

    private static string? Check(JsonElement value, JsonElement schema, string path, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 32)
        {
            return null;
        }

        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(constant, value))
        {
            return $"{path} must equal {constant.GetRawText()}";
        }

        if (schema.TryGetProperty("enum", out var e) && e.ValueKind == JsonValueKind.Array && !e.EnumerateArray().Any(x => JsonElement.DeepEquals(x, value)))
        {
            return $"{path} is not one of the allowed values";
        }

        foreach (var key in (ReadOnlySpan<string>)["anyOf", "oneOf"])
        {
            if (schema.TryGetProperty(key, out var options) && options.ValueKind == JsonValueKind.Array
                && !options.EnumerateArray().Any(o => Check(value, o, path, depth + 1) is null))
            {
                return $"{path} matches none of {key}";
            }
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).ToList() : [type.GetString()];
            if (!types.Any(t => IsType(value, t)))
            {
                return $"{path} must be of type {string.Join(" or ", types)}";
            }
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()).OfType<string>())
                {
                    if (!value.TryGetProperty(name, out _))
                    {
                        return $"{path} is missing required property '{name}'";
                    }
                }
            }

            var hasProps = schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object;
            var closed = schema.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.False;
            foreach (var property in value.EnumerateObject())
            {
                if (hasProps && props.TryGetProperty(property.Name, out var sub))
                {
                    if (Check(property.Value, sub, $"{path}.{property.Name}", depth + 1) is { } error)
                    {
                        return error;
                    }
                }
                else if (closed)
                {
                    return $"{path} has unexpected property '{property.Name}'";
                }
            }
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (Check(item, items, $"{path}[{i++}]", depth + 1) is { } error)
                {
                    return error;
                }
            }
        }

        return null;
    }

    private static bool IsType(JsonElement value, string? type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };
}
