namespace Orleans.LlmRouter.Ledger;

[System.Text.Json.Serialization.JsonSerializable(typeof(LedgerRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(QuarantinedRecord))]
internal sealed partial class LedgerJson : System.Text.Json.Serialization.JsonSerializerContext;
