using System.Runtime.CompilerServices;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// The router grain's reference, made once per grain factory: <c>GetGrain</c> resolves the grain interface type from
/// its attributes on every call, which showed up as about 2 % of the gateway's CPU under load.
/// </summary>
internal static class RouterReference
{
    private static readonly ConditionalWeakTable<IGrainFactory, IRouterGrain> Cache = [];

    public static IRouterGrain For(IGrainFactory grains) => Cache.GetValue(grains, static g => g.GetGrain<IRouterGrain>(0));
}
