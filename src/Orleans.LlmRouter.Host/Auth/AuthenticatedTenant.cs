using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>The tenant a request's key resolved to, kept by <see cref="LlmRouterKeyHandler"/> as a request feature.</summary>
internal sealed record AuthenticatedTenant(TenantDefinition Tenant, KeyDefinition? Key = null);
