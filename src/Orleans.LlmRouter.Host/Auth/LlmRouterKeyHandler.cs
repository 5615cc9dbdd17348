using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Grains.Tenants;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>
/// The <see cref="LlmRouterAuthentication.Scheme"/> handler: the key of <c>Authorization: Bearer</c> (OpenAI clients) or
/// <c>x-api-key</c> (Anthropic clients) is a tenant's (claim <see cref="LlmRouterAuthentication.TenantClaim"/>, and the
/// tenant as a request feature) or the admin key (role <see cref="LlmRouterAuthentication.AdminRole"/>). No key is no
/// result, an unknown one a failure; the key itself never reaches a claim, a log or an error. Challenge and forbid
/// answer in the route group's shape (<see cref="IKeyFailureResponder"/>), problem details where a route has none.
/// </summary>
internal sealed class LlmRouterKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TenantDirectory tenants,
    AdminKey admin)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly AuthenticateResult Invalid = AuthenticateResult.Fail("The key is not a tenant's or the admin's.");

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = AdminKey.Bearer(Context) ?? Request.Headers["x-api-key"].FirstOrDefault();
        if (string.IsNullOrEmpty(key))
        {
            return AuthenticateResult.NoResult();
        }

        // Tenant keys first: they carry the hot path.
        if (await tenants.ResolveKeyAsync(key) is { } resolved)
        {
            var tenant = resolved.Tenant;
            Context.Features.Set(new AuthenticatedTenant(tenant, resolved.Key));
            return Success(new Claim(LlmRouterAuthentication.TenantClaim, tenant.Id), new Claim(ClaimTypes.Name, tenant.Id));
        }

        return admin.Matches(key) ? Success(new Claim(ClaimTypes.Role, LlmRouterAuthentication.AdminRole), new Claim(ClaimTypes.Name, "admin")) : Invalid;
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Responder()?.ChallengeAsync(Context) ?? TypedResults.Problem("A valid key is required.", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized").ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Responder()?.ForbidAsync(Context) ?? TypedResults.Problem("This key may not use this route.", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden").ExecuteAsync(Context);

    private IKeyFailureResponder? Responder() => Context.GetEndpoint()?.Metadata.GetMetadata<IKeyFailureResponder>();

    private AuthenticateResult Success(params Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
}
