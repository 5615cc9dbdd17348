using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Orleans.LlmRouter.Ledger;

[System.Text.Json.Serialization.JsonSerializable(typeof(LedgerRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(QuarantinedRecord))]
internal sealed partial class LedgerJson : System.Text.Json.Serialization.JsonSerializerContext;
