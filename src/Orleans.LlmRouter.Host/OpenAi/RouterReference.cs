using System.Runtime.CompilerServices;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// The router grain's references, made once per grain factory: <c>GetGrain</c> resolves the grain interface type from
/// its attributes on every call, which showed up as about 2 % of the gateway's CPU under load. Keys
/// <c>0..<see cref="RouterCalls.RouterKeys"/>-1</c> (a separate front end spreads its calls over them, see <see cref="RouterCalls"/>).
/// </summary>
internal static class RouterReference
{
    private static readonly ConditionalWeakTable<IGrainFactory, IRouterGrain[]> Cache = [];

    public static IRouterGrain For(IGrainFactory grains) => For(grains, 0);

    public static IRouterGrain For(IGrainFactory grains, int key) =>
        Cache.GetValue(grains, static g => Enumerable.Range(0, RouterCalls.RouterKeys).Select(k => g.GetGrain<IRouterGrain>(k)).ToArray())[key];
}
