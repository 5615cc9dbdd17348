using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Orleans.LlmRouter.Bench.Micro -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Orleans.LlmRouter.Bench.Micro.HotPathBenchmarks).Assembly).Run(args);
