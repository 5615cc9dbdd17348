using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// Tenant management under <c>/api/v1/tenants</c> (admin key): create, read, update, delete; issue, rotate and revoke
/// keys (a plain key is shown once, when issued); budgets and limits are part of the tenant's settings.
/// </summary>
internal static class TenantEndpoints
{
    public static RouteGroupBuilder MapTenantEndpoints(this RouteGroupBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var tenants = admin.MapGroup("/tenants");
        tenants.MapGet("/", ListAsync);
        tenants.MapPost("/", CreateAsync);
        tenants.MapGet("/{id}", GetAsync);
        tenants.MapPut("/{id}", UpdateAsync);
        tenants.MapDelete("/{id}", (string id, IGrainFactory grains, TenantDirectory directory) => Run(async () =>
        {
            await Registry(grains).DeleteAsync(id);
            await directory.RefreshAsync();
            return TypedResults.NoContent();
        }));
        tenants.MapDelete("/{id}/keys/{keyId}", (string id, string keyId, IGrainFactory grains, TenantDirectory directory) => Run(async () =>
        {
            await Registry(grains).RevokeKeyAsync(id, keyId);
            await directory.RefreshAsync();
            return TypedResults.NoContent();
        }));
        tenants.MapLevelEndpoints();
        return admin;
    }

    private static async Task<Ok<TenantView[]>> ListAsync(IGrainFactory grains, TenantDirectory directory)
    {
        var managed = (await Registry(grains).GetSnapshotAsync()).Tenants.ToDictionary(t => t.Settings.Id, StringComparer.Ordinal);
        var all = await directory.AllAsync();
        return TypedResults.Ok(all.OrderBy(t => t.Id, StringComparer.Ordinal)
            .Select(t => managed.TryGetValue(t.Id, out var m) ? View(m) : new TenantView(t.Id, "yaml", null, []))
            .ToArray());
    }

    private static Task<IResult> CreateAsync(CreateTenantRequest body, IGrainFactory grains, TenantDirectory directory) => Run(async () =>
    {
        if (body?.Settings is null)
        {
            return Problem(400, "The body must be {\"settings\": {\"id\": ...}}.");
        }

        var registry = Registry(grains);
        var tenant = await registry.PutAsync(body.Settings, create: true);
        IssuedTenantKey? key = body.IssueKey == false ? null : await registry.IssueKeyAsync(tenant.Settings.Id);
        var created = await registry.GetAsync(tenant.Settings.Id) ?? tenant;
        await directory.RefreshAsync();
        return TypedResults.Created($"/api/v1/tenants/{tenant.Settings.Id}", new CreatedTenant(View(created), key));
    });

    private static Task<IResult> GetAsync(string id, IGrainFactory grains, TenantDirectory directory) => Run(async () =>
    {
        if (await Registry(grains).GetAsync(id) is { } managed)
        {
            return TypedResults.Ok(View(managed));
        }

        return await directory.GetAsync(id) is { } yaml
            ? TypedResults.Ok(new TenantView(yaml.Id, "yaml", null, []))
            : Problem(404, $"Tenant '{id}' does not exist.");
    });

    private static Task<IResult> UpdateAsync(string id, TenantSettings settings, IGrainFactory grains, TenantDirectory directory) => Run(async () =>
    {
        if (settings is null || settings.Id != id)
        {
            return Problem(400, "The body must be the tenant's settings, with the same id as the path.");
        }

        var updated = await Registry(grains).PutAsync(settings, create: false);
        await directory.RefreshAsync();
        return TypedResults.Ok(View(updated));
    });

    /// <summary>Runs a handler; registry errors become problem details in the admin surface's mapping (<see cref="AdminProblems"/>).</summary>
    private static async Task<IResult> Run(Func<Task<IResult>> action) => await action();

    private static async Task<IResult> Run<T>(Func<Task<T>> action)
        where T : IResult => await Run(async () => (IResult)await action());

    private static IResult Problem(int status, string detail) => AdminProblems.Problem(status, detail);

    private static ITenantRegistryGrain Registry(IGrainFactory grains) => grains.GetTenantRegistry();

    private static TenantView View(ManagedTenant t) =>
        new(t.Settings.Id, "admin", t.Settings, t.Keys.Select(k => new KeyView(k.KeyId, k.Prefix + "…", k.CreatedAt, k.RevokedAt)).ToArray());

    public sealed record CreateTenantRequest(TenantSettings Settings, bool? IssueKey);

    public sealed record KeyView(string KeyId, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

    public sealed record TenantView(string Id, string Source, TenantSettings? Settings, KeyView[] Keys);

    public sealed record CreatedTenant(TenantView Tenant, IssuedTenantKey? Key);
}
