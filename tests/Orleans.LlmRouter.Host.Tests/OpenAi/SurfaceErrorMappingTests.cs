using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.Admin;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>Each surface's one exception mapping: the OpenAI shape on /v1, problem details on /api.</summary>
public sealed class SurfaceErrorMappingTests
{
    public static TheoryData<Exception> ClusterFaults() =>
    [
        new ClusterUnavailableException("The budget grain did not answer in time.") { RetryAfterSeconds = 2 },
        new Orleans.Runtime.SiloUnavailableException(),
        new Orleans.Runtime.GatewayTooBusyException(),
        new TimeoutException(),
    ];

    [Theory]
    [MemberData(nameof(ClusterFaults))]
    public async Task Cluster_faults_are_503_with_retry_after_on_both_surfaces(Exception fault)
    {
        var expectedRetry = fault is ClusterUnavailableException c ? c.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : "1";

        Assert.True(OpenAiErrors.Maps(fault));
        var openAi = Context();
        await OpenAiErrors.WriteExceptionAsync(openAi, fault);
        Assert.Equal(503, openAi.Response.StatusCode);
        Assert.Equal(expectedRetry, openAi.Response.Headers.RetryAfter.ToString());
        Assert.Equal("cluster_unavailable", Body(openAi).GetProperty("error").GetProperty("code").GetString());

        Assert.True(AdminProblems.Maps(fault));
        var admin = Context();
        await AdminProblems.For(admin, fault).ExecuteAsync(admin);
        Assert.Equal(503, admin.Response.StatusCode);
        Assert.Equal(expectedRetry, admin.Response.Headers.RetryAfter.ToString());
        Assert.Equal(503, Body(admin).GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData(new[] { ProviderErrorClass.RateLimited, ProviderErrorClass.RateLimited }, 503, 529)]
    [InlineData(new[] { ProviderErrorClass.Overloaded, ProviderErrorClass.Overloaded }, 503, 529)]
    [InlineData(new[] { ProviderErrorClass.RateLimited, ProviderErrorClass.Overloaded }, 503, 529)]
    [InlineData(new[] { ProviderErrorClass.RateLimited, ProviderErrorClass.Server }, 502, 500)]
    [InlineData(new[] { ProviderErrorClass.Timeout }, 502, 500)]
    public async Task Every_model_out_of_capacity_is_retryable_and_any_other_failure_is_an_upstream_error(ProviderErrorClass[] classes, int openAiStatus, int anthropicStatus)
    {
        var failed = new AllModelsFailedException([.. classes.Select((c, i) => new AttemptRecord($"m{i}", "p", false, c, "refused", 1))], []);

        var openAi = Context();
        await OpenAiErrors.WriteExceptionAsync(openAi, failed);
        Assert.Equal(openAiStatus, openAi.Response.StatusCode);

        var anthropic = Context();
        await Orleans.LlmRouter.Host.Anthropic.AnthropicErrors.WriteExceptionAsync(anthropic, failed);
        Assert.Equal(anthropicStatus, anthropic.Response.StatusCode);
        Assert.Equal(anthropicStatus == 529 ? "overloaded_error" : "api_error", Body(anthropic).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_tenant_that_does_not_exist_is_401_on_both_surfaces()
    {
        var missing = new TenantNotFoundException("Tenant 'gone' does not exist.") { TenantId = "gone" };
        var openAi = Context();
        await OpenAiErrors.WriteExceptionAsync(openAi, missing);
        Assert.Equal(401, openAi.Response.StatusCode);
        Assert.Equal("invalid_api_key", Body(openAi).GetProperty("error").GetProperty("code").GetString());

        var admin = Context();
        await AdminProblems.For(admin, missing).ExecuteAsync(admin);
        Assert.Equal(401, admin.Response.StatusCode);
        Assert.Equal(401, Body(admin).GetProperty("status").GetInt32());
    }

    [Fact]
    public void A_defect_is_left_to_the_last_line_handler()
    {
        Assert.False(OpenAiErrors.Maps(new InvalidOperationException()));
        Assert.False(AdminProblems.Maps(new InvalidOperationException()));
        Assert.False(OpenAiErrors.Maps(new OperationCanceledException()));
        Assert.True(OpenAiErrors.Maps(new OperationCanceledException(), callLost: true));
    }

    private static DefaultHttpContext Context()
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        return new DefaultHttpContext { RequestServices = services, Response = { Body = new MemoryStream() } };
    }

    private static JsonElement Body(HttpContext http)
    {
        http.Response.Body.Position = 0;
        return JsonDocument.Parse(http.Response.Body).RootElement.Clone();
    }
}
