using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration;

/// <summary>The result of loading: the catalog and notices such as providers disabled for a missing key.</summary>
public sealed record CatalogLoadResult(ModelCatalog Catalog, IReadOnlyList<string> Notices, IReadOnlyList<string> Files);
