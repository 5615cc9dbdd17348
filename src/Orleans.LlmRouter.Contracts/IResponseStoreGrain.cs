namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// One stored response of one tenant, keyed <c>{tenantId}/{responseId}</c>
/// (<see cref="LlmRouterGrainFactoryExtensions.GetStoredResponse"/>), in the silo's grain
/// storage (memory when embedded, PostgreSQL when durable). The tenant is part of the key, so a tenant can never
/// reach another tenant's response. An expired response reads as absent.
/// </summary>
[Alias("llmrouter.IResponseStoreGrain")]
public interface IResponseStoreGrain : IGrainWithStringKey
{
    /// <summary>Stores (or replaces) the response.</summary>
    [Alias("put")]
    Task PutAsync(StoredResponse response);

    /// <summary>The stored response, or null when there is none or it expired.</summary>
    [Alias("get")]
    Task<StoredResponse?> GetAsync();

    /// <summary>Removes the response; false when there was none.</summary>
    [Alias("delete")]
    Task<bool> DeleteAsync();
}
