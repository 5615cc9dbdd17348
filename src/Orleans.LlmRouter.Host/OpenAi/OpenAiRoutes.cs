using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The <c>/v1</c> route group: a tenant key (policy <c>tenant</c>), 401s in the OpenAI shape.</summary>
internal static class OpenAiRoutes
{
    public static RouteGroupBuilder MapOpenAiGroup(this IEndpointRouteBuilder routes) =>
        routes.MapGroup("/v1").RequireAuthorization(LlmRouterAuthentication.TenantPolicy).WithMetadata(OpenAiKeyFailures.Instance);
}
