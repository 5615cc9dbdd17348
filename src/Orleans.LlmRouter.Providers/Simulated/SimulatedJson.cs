using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Providers.Simulated;

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SimulatedJson : System.Text.Json.Serialization.JsonSerializerContext;
