namespace Orleans.LlmRouter.Contracts;

/// <summary>A newly issued key: the only time its plain text is ever returned.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.IssuedTenantKey")]
public sealed record IssuedTenantKey(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string Key);
