using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;

namespace Orleans.LlmRouter.Core.Tests.Routing;

/// <summary>A model with deployments is one candidate of the plan, eligible while one of its deployments can take a call.</summary>
public sealed class DeploymentPlanningTests
{
    private static readonly ModelCatalog Catalog = new CatalogLoader(environment: _ => null).Load([("d.yaml", """
        providers:
          - { id: east, type: simulated }
          - { id: west, type: simulated }
          - { id: keyless, type: openai, api_key_env: DEPLOY_TEST_UNSET_KEY }
        models:
          - name: pool
            capabilities: [chat]
            context_window: 32000
            max_output_tokens: 1000
            pricing: { input: 1, output: 1 }
            deployments:
              - { provider: keyless, provider_model: k }
              - { provider: east, provider_model: e }
              - { provider: west, provider_model: w }
        """)]).Catalog;

    private static RouteCandidate Plan(Func<ProviderDefinition, ModelDefinition, string?> available) =>
        Assert.Single(new RoutePlanner(Catalog).Plan(new RouteQuery { Model = "pool", EstimatedPromptTokens = 10 }, available).Candidates);

    [Fact]
    public void Eligible_while_one_deployment_is_available_though_its_first_provider_is_disabled()
    {
        var candidate = Plan((_, view) => view.Deployment!.Id == "east" ? "circuit open" : null);

        Assert.True(candidate.Eligible, candidate.Reason);
        Assert.Equal("pool", candidate.Model.Name); // the model: the attempt loop picks the deployment
    }

    [Fact]
    public void Ineligible_with_every_deployments_reason_when_none_is_available()
    {
        var candidate = Plan((_, view) => $"{view.Deployment!.Id} is paused");

        Assert.False(candidate.Eligible);
        Assert.Contains("deployment 'keyless': provider 'keyless' is disabled", candidate.Reason, StringComparison.Ordinal);
        Assert.Contains("deployment 'east': east is paused", candidate.Reason, StringComparison.Ordinal);
        Assert.Contains("deployment 'west': west is paused", candidate.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_availability_check_sees_each_deployment_as_its_own_view()
    {
        var seen = new List<(string Provider, string ProviderModel, string Scope)>();
        Plan((host, view) =>
        {
            seen.Add((host.Id, view.ProviderModel, ModelScopes.IdOf(host, view)));
            return "no";
        });

        Assert.Equal([("east", "e", "pool@east"), ("west", "w", "pool@west")], seen);
    }
}
