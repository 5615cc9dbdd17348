using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>What a bearer key opens: its tenant, and the key itself (null for a YAML key given as a bare hash).</summary>
internal sealed record ResolvedKey(TenantDefinition Tenant, KeyDefinition? Key);
