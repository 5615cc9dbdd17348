using System.Globalization;
using Orleans.LlmRouter.Samples.ContractsOnly;

// dotnet run --project samples/Orleans.LlmRouter.Samples.ContractsOnly -- <gateway port> <cluster id> <service id> <tenant>
// against a running gateway, e.g. `dotnet run --project src/Orleans.LlmRouter.Host` (defaults: 30000 llmrouter-dev llmrouter dev).
var port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30000;
return await ContractsOnlySample.RunAsync(port, args.Length > 1 ? args[1] : "llmrouter-dev", args.Length > 2 ? args[2] : "llmrouter", args.Length > 3 ? args[3] : "dev", Console.Out);
