namespace Orleans.LlmRouter.Contracts;

/// <summary>Helpers for callers of <see cref="IRouterGrain"/>.</summary>
public static class RouterGrainExtensions
{
    /// <summary>
    /// When <paramref name="token"/> is cancelled (the caller went away), asks the router to cancel the request of
    /// <paramref name="context"/> too, so its upstream call is aborted. Dispose the registration when the call ends.
    /// </summary>
    public static CancellationTokenRegistration CancelWhen(this IRouterGrain router, RouterContext context, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(context);
        return token.Register(static state =>
        {
            var (r, c) = ((IRouterGrain, RouterContext))state!;
            _ = SendAsync(r, c);
        }, (router, context));
    }

    private static async Task SendAsync(IRouterGrain router, RouterContext context)
    {
        try
        {
            await router.CancelAsync(context.RequestId, context.TenantId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Best effort: the request may have ended, or the silo gone; the caller's own token still applies.
        }
    }
}
