using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// <c>GET /api/v1/runtime</c> (admin key): this process's memory and threads, what it holds for calls in flight
/// (router calls running, budget reservations kept alive, provider calls admitted and concurrency slots held) and the
/// cluster's grain activations by type. Every in-flight figure is zero once every call has ended; a soak run reads
/// it every minute to show that nothing grows without bound. With <c>?gc=full</c> it first runs full blocking
/// collections (a pause of the whole process: a diagnostic, not for a monitoring loop) and reports the live heap, the
/// figure that shows a leak where the heap size after the last collection may still hold garbage of older generations.
/// </summary>
internal static class RuntimeEndpoints
{
    public static RouteGroupBuilder MapRuntimeEndpoints(this RouteGroupBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        admin.MapGet("/runtime", RuntimeAsync);
        return admin;
    }

    private static async Task<Ok<RuntimeView>> RuntimeAsync(IGrainFactory grains, IServiceProvider services, string? gc)
    {
        long? live = string.Equals(gc, "full", StringComparison.OrdinalIgnoreCase) ? GC.GetTotalMemory(forceFullCollection: true) : null;
        var memory = GC.GetGCMemoryInfo();
        using var process = Process.GetCurrentProcess();

        // A front end running as an Orleans client has no router, keeper or gate of its own: those figures are null.
        var router = services.GetService<RouterServices>();
        var keeper = services.GetService<ReservationKeeper>();
        var gate = services.GetService<ProviderGate>();
        var (active, inFlight, slots) = gate?.Totals() ?? (0, 0, 0);
        var stats = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        var byType = stats.GroupBy(s => s.GrainType, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount), StringComparer.Ordinal);
        return TypedResults.Ok(new RuntimeView(
            process.WorkingSet64,
            memory.HeapSizeBytes,
            GC.GetTotalMemory(forceFullCollection: false),
            live,
            GC.CollectionCount(0),
            GC.CollectionCount(2),
            process.Threads.Count,
            ThreadPool.ThreadCount,
            router?.InFlight.Count,
            keeper?.Count,
            gate is null ? null : active,
            gate is null ? null : inFlight,
            gate is null ? null : slots,
            byType.Values.Sum(),
            byType));
    }

    /// <summary>The runtime figures of this process (in-flight ones null where this process runs no silo).</summary>
    /// <param name="WorkingSetBytes">Resident memory.</param>
    /// <param name="GcHeapBytes">Managed heap size after the last collection.</param>
    /// <param name="GcAllocatedBytes">Bytes thought to be allocated on the managed heap now.</param>
    /// <param name="LiveHeapBytes">Managed heap in use after full blocking collections (only with <c>?gc=full</c>).</param>
    /// <param name="Gen0Collections">Generation 0 collections so far.</param>
    /// <param name="Gen2Collections">Generation 2 (full) collections so far.</param>
    /// <param name="Threads">Operating-system threads of the process.</param>
    /// <param name="ThreadPoolThreads">Thread-pool threads.</param>
    /// <param name="CallsRunning">Router calls running on this silo (each cancellable by its caller).</param>
    /// <param name="ReservationsHeld">Budget reservations this silo keeps alive for its calls.</param>
    /// <param name="ProviderCallsActive">Calls admitted by this silo's provider gate and not yet completed.</param>
    /// <param name="ProviderCallsHoldingSlots">Of those, calls holding a provider concurrency slot.</param>
    /// <param name="ProviderSlotsHeld">Concurrency slots this silo holds from the provider grains.</param>
    /// <param name="Activations">Grain activations in the cluster.</param>
    /// <param name="ActivationsByType">Grain activations in the cluster by grain type.</param>
    public sealed record RuntimeView(
        long WorkingSetBytes,
        long GcHeapBytes,
        long GcAllocatedBytes,
        long? LiveHeapBytes,
        int Gen0Collections,
        int Gen2Collections,
        int Threads,
        int ThreadPoolThreads,
        int? CallsRunning,
        int? ReservationsHeld,
        int? ProviderCallsActive,
        int? ProviderCallsHoldingSlots,
        int? ProviderSlotsHeld,
        int Activations,
        IReadOnlyDictionary<string, int> ActivationsByType);
}
