using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Tests;

public sealed class ProviderErrorClassNamesTests
{
    [Theory]
    [InlineData(ProviderErrorClass.RateLimited, "rate_limited")]
    [InlineData(ProviderErrorClass.ContextLengthExceeded, "context_length_exceeded")]
    [InlineData(ProviderErrorClass.UpstreamInvalidResponse, "upstream_invalid_response")]
    [InlineData(ProviderErrorClass.Server, "server")]
    [InlineData(ProviderErrorClass.ClusterUnavailable, "cluster_unavailable")]
    public void The_names_are_the_ones_the_ledger_and_the_api_show(ProviderErrorClass errorClass, string name)
    {
        Assert.Equal(name, errorClass.Name());
    }

    [Fact]
    public void Every_class_has_a_distinct_snake_case_name_that_parses_back()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in Enum.GetValues<ProviderErrorClass>())
        {
            var name = value.Name();
            Assert.Matches("^[a-z]+(_[a-z]+)*$", name);
            Assert.True(names.Add(name));
            Assert.True(ProviderErrorClassNames.TryParse(name, out var parsed));
            Assert.Equal(value, parsed);
        }

        Assert.False(ProviderErrorClassNames.TryParse("RateLimited", out _));
        Assert.False(ProviderErrorClassNames.TryParse(null, out _));
    }
}
