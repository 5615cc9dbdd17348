using System.Diagnostics;

namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Carries the caller's W3C trace context (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) on every grain call
/// this process makes, whether or not anything records spans: the current activity is written into the call's
/// <see cref="RequestContext"/> under the keys Orleans' own propagation uses (by the process's
/// <see cref="DistributedContextPropagator"/>), and the silo continues that trace for the router's upstream calls, log
/// lines and ledger row. Orleans' propagation alone carries it only when a listener records its grain-call activities
/// (an exporter). Registered by the silo extensions and by <c>AddLlmRouterChatClient</c> /
/// <c>AddLlmRouterEmbeddingGenerator</c>, so an app with its own Orleans client carries its traces too.
/// </summary>
public sealed class TraceContextGrainCallFilter : IOutgoingGrainCallFilter
{
    private const string TraceParent = "traceparent";

    /// <inheritdoc/>
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Inject();
        return context.Invoke();
    }

    /// <summary>Writes the current activity's context into the outgoing call's request context, unless it is there already.</summary>
    public static void Inject()
    {
        if (Activity.Current is not { IdFormat: ActivityIdFormat.W3C } current
            || string.Equals(RequestContext.Get(TraceParent) as string, current.Id, StringComparison.Ordinal))
        {
            return;
        }

        DistributedContextPropagator.Current.Inject(current, null, static (_, key, value) => RequestContext.Set(key, value));
    }
}
