namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// The value of <c>X-LlmRouter-Provider</c>: the provider id, followed by <c>; deployment=&lt;id&gt;</c> when the call
/// went to a deployment of a model whose deployment id is not its provider's id (e.g. two deployments on one provider).
/// </summary>
internal static class ProviderHeader
{
    public static string Value(string provider, string? deployment) =>
        deployment is null || deployment == provider ? provider : provider + "; deployment=" + deployment;
}
