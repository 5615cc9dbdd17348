namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>Tests that redirect the process-wide <see cref="Console.Error"/> run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCaptureCollection
{
    public const string Name = "console-capture";
}
