using Microsoft.Extensions.Logging;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>The gate's log lines.</summary>
internal static partial class GateLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider}: could not reach its provider grain; using the last known state")]
    public static partial void GrainUnreachable(ILogger logger, string provider, Exception ex);
}
