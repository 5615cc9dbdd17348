namespace Orleans.LlmRouter.Ledger;

[System.Text.Json.Serialization.JsonSerializable(typeof(LedgerRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(QuarantinedRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<LedgerAttempt>))]
internal sealed partial class LedgerJson : System.Text.Json.Serialization.JsonSerializerContext;
