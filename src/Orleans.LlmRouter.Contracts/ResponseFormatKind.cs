namespace Orleans.LlmRouter.Contracts;

/// <summary>Requested output format.</summary>
public enum ResponseFormatKind
{
    /// <summary>Free text.</summary>
    Text = 0,

    /// <summary>Any valid JSON object.</summary>
    JsonObject = 1,

    /// <summary>JSON that validates against <see cref="ResponseFormat.SchemaJson"/>.</summary>
    JsonSchema = 2,
}
