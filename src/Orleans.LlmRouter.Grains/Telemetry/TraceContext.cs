using System.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Telemetry;

/// <summary>
/// Carries W3C trace context (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) across grain calls whether or not
/// anything records spans. Orleans' own activity propagation starts its grain-call activities from an
/// <see cref="ActivitySource"/>, which builds nothing when no listener (no exporter) samples, so the context stopped at
/// the grain call and the router's upstream HTTP call started with no <see cref="Activity.Current"/>. Here the caller's
/// current activity is written into the call's <see cref="RequestContext"/> (the same keys Orleans uses, by the
/// process's <see cref="DistributedContextPropagator"/>), and a call into the router grain that arrives without an
/// activity gets a propagation-only one (<see cref="Start"/>): not from any source, so no listener sees it and no span
/// is recorded, but current for the call — HttpClient injects it upstream, log scopes carry its trace id, the ledger
/// row stores it. The trace flags are the caller's (sampling follows the caller when nothing here records).
/// </summary>
internal static class TraceContext
{
    /// <summary>The operation name of a propagation-only activity.</summary>
    public const string PropagationActivityName = "Orleans.LlmRouter.TraceContext";

    /// <summary>The W3C trace id of the current activity (the ledger row's <c>trace_id</c>); null without one.</summary>
    public static string? CurrentTraceId() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.TraceId.ToHexString() : null;

    /// <summary>
    /// Starts a propagation-only activity as the child of the trace context <paramref name="getter"/> reads from
    /// <paramref name="carrier"/> (a new root trace when there is none and <paramref name="rootWhenMissing"/>); null
    /// when there is nothing to continue and no root is wanted. Stop it (dispose) when the call ends.
    /// </summary>
    public static Activity? Start(object? carrier, DistributedContextPropagator.PropagatorGetterCallback getter, bool rootWhenMissing)
    {
        var propagator = DistributedContextPropagator.Current;
        propagator.ExtractTraceIdAndState(carrier, getter, out var parent, out var state);
        if (parent is null && !rootWhenMissing)
        {
            return null;
        }

        var activity = new Activity(PropagationActivityName);
        activity.SetIdFormat(ActivityIdFormat.W3C);
        if (parent is not null)
        {
            activity.SetParentId(parent);
            activity.TraceStateString = state;
            if (propagator.ExtractBaggage(carrier, getter) is { } baggage)
            {
                foreach (var (key, value) in baggage)
                {
                    activity.AddBaggage(key, value);
                }
            }
        }

        return activity.Start();
    }

    /// <summary>Reads a field of the trace context from the incoming call's request context.</summary>
    public static void FromRequestContext(object? carrier, string name, out string? value, out IEnumerable<string>? values)
    {
        value = RequestContext.Get(name) as string;
        values = null;
    }
}

/// <summary>
/// Every grain call made from this process carries the caller's trace context
/// (<see cref="Contracts.TraceContextGrainCallFilter"/>), unless <see cref="TelemetryOptions.TraceContext"/> is off.
/// </summary>
internal sealed class TraceContextOutgoingFilter(IOptions<TelemetryOptions> options) : IOutgoingGrainCallFilter
{
    private readonly bool _enabled = options.Value.TraceContext;

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (_enabled)
        {
            Contracts.TraceContextGrainCallFilter.Inject();
        }

        return context.Invoke();
    }
}

/// <summary>
/// A call into the router grain (its methods and its streams' enumeration calls) that arrives with no current activity
/// runs under a propagation-only one continuing the caller's trace context (<see cref="TraceContext.Start"/>).
/// </summary>
internal sealed class TraceContextIncomingFilter(IOptions<TelemetryOptions> options) : IIncomingGrainCallFilter
{
    private readonly bool _enabled = options.Value.TraceContext;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (!_enabled || Activity.Current is not null || context.TargetContext?.GrainInstance is not RouterGrain)
        {
            return context.Invoke();
        }

        return InvokeAsync(context);
    }

    private static async Task InvokeAsync(IIncomingGrainCallContext context)
    {
        using var activity = TraceContext.Start(null, TraceContext.FromRequestContext, rootWhenMissing: false);
        await context.Invoke();
    }
}
