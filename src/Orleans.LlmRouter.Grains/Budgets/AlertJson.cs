namespace Orleans.LlmRouter.Grains.Budgets;

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SoftAlert))]
internal sealed partial class AlertJson : System.Text.Json.Serialization.JsonSerializerContext;
