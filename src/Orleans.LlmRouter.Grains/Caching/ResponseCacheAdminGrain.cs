using Orleans.Concurrency;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>The response cache's store, reached from a front end (which may run without a silo): purge and size of a namespace.</summary>
[Alias("llmrouter.IResponseCacheAdminGrain")]
internal interface IResponseCacheAdminGrain : IGrainWithIntegerKey
{
    /// <summary>Removes every stored answer of a namespace; returns how many there were.</summary>
    [Alias("purge")]
    Task<int> PurgeAsync(string ns);

    /// <summary>How many answers and bytes a namespace holds.</summary>
    [Alias("size")]
    Task<(int Entries, long Bytes)> SizeAsync(string ns);
}

/// <summary>Runs on the silo the call reaches, against the cluster's store (use key 0).</summary>
[StatelessWorker]
internal sealed class ResponseCacheAdminGrain(IResponseCacheStore store, ResponseCacheStorage storage) : Grain, IResponseCacheAdminGrain
{
    public Task<int> PurgeAsync(string ns)
    {
        storage.DropCopies(ns);
        return store.PurgeAsync(ns);
    }

    public Task<(int Entries, long Bytes)> SizeAsync(string ns) => store.SizeAsync(ns);
}
