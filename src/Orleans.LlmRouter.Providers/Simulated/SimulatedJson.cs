namespace Orleans.LlmRouter.Providers.Simulated;

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SimulatedJson : System.Text.Json.Serialization.JsonSerializerContext;
