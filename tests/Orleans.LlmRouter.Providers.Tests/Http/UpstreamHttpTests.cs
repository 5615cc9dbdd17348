using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Tests.Http;

/// <summary>
/// The shared plumbing on its own, with a response body the test writes byte by byte (an inline pipe, so every write
/// is read before it returns) and a fake clock: when the idle timeout runs, what restarts it, and how failures the
/// adapters did not type are typed.
/// </summary>
public sealed class UpstreamHttpTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ProviderDefinition Provider =
        new("up", ProviderTypes.OpenAi, "http://127.0.0.1:9", null, TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None)
        {
            StreamIdleTimeout = Idle,
        };

    private static readonly ModelDefinition Model =
        new("m", "up", "model-1", new HashSet<Capability> { Capability.Chat }, 1000, 100, new ModelPricing(1, 2), null, SourceLocation.None);

    private static (UpstreamHttp Upstream, Pipe Body, HttpResponseMessage Response) Start(FakeTimeProvider time)
    {
        var body = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body.Reader.AsStream()) };
        return (new UpstreamHttp(Provider, new HttpClient(), "http://127.0.0.1:9", "sk-up-secret", null, time: time), body, response);
    }

    private static async Task WriteAsync(Pipe body, string text) => await body.Writer.WriteAsync(Encoding.UTF8.GetBytes(text), Ct);

    [Fact]
    public async Task Keep_alive_bytes_restart_the_idle_timeout_and_silence_past_it_is_a_timeout()
    {
        var time = new FakeTimeProvider();
        var (upstream, body, response) = Start(time);
        using (response)
        {
            var events = upstream.ReadEventsAsync(response, Model, Ct).GetAsyncEnumerator(Ct);
            await using (events)
            {
                var first = events.MoveNextAsync();
                await WriteAsync(body, "data: one\n\n");
                Assert.True(await first);
                Assert.Equal("one", events.Current.Data);

                time.Advance(Idle * 2); // the consumer holds the event: the clock is paused, not running
                var next = events.MoveNextAsync();
                time.Advance(Idle - TimeSpan.FromSeconds(1));
                await WriteAsync(body, ": keep-alive\n\n"); // a comment: no event, but the upstream is alive
                time.Advance(Idle - TimeSpan.FromSeconds(1));
                Assert.False(next.IsCompleted);

                time.Advance(TimeSpan.FromSeconds(1));
                var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, async () => await next);
                Assert.Equal(("up", "model-1"), (ex.Provider, ex.Model));
                Assert.Equal("the stream sent nothing for 30 s", ex.ProviderMessage);
            }
        }
    }

    [Fact]
    public async Task Ndjson_lines_have_the_same_idle_timeout_and_a_clean_end_ends_the_lines()
    {
        var time = new FakeTimeProvider();
        var (upstream, body, response) = Start(time);
        using (response)
        {
            var lines = upstream.ReadLinesAsync(response, Model, Ct).GetAsyncEnumerator(Ct);
            await using (lines)
            {
                var first = lines.MoveNextAsync();
                await WriteAsync(body, "{\"a\":1}\n");
                Assert.True(await first);
                Assert.Equal("{\"a\":1}", lines.Current);

                var next = lines.MoveNextAsync();
                time.Advance(Idle - TimeSpan.FromSeconds(1));
                await WriteAsync(body, "{\"b\":"); // half a line is still a sign of life
                time.Advance(Idle - TimeSpan.FromSeconds(1));
                Assert.False(next.IsCompleted);
                await WriteAsync(body, "2}\n");
                Assert.True(await next);
                Assert.Equal("{\"b\":2}", lines.Current);

                var end = lines.MoveNextAsync();
                await body.Writer.CompleteAsync();
                Assert.False(await end);
            }
        }
    }

    [Fact]
    public async Task The_callers_cancellation_is_a_cancellation_even_while_the_idle_timeout_runs()
    {
        var time = new FakeTimeProvider();
        var (upstream, _, response) = Start(time);
        using (response)
        {
            using var caller = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var events = upstream.ReadEventsAsync(response, Model, caller.Token).GetAsyncEnumerator(caller.Token);
            await using (events)
            {
                var next = events.MoveNextAsync();
                await caller.CancelAsync();
                var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
                Assert.IsNotAssignableFrom<ProviderException>(ex);
            }
        }
    }

    [Fact]
    public async Task Untyped_failures_while_reading_become_typed_errors_without_their_text()
    {
        var upstream = new UpstreamHttp(Provider, new HttpClient(), "http://127.0.0.1:9", "sk-up-secret", null);
        async Task<ProviderException> Fails(Func<int> read) =>
            await Assert.ThrowsAnyAsync<ProviderException>(() => upstream.ReadAsync(Model, () => Task.FromResult(read()), Ct));

        var json = await Fails(() => JsonDocument.Parse("{\"choices\": [sk-up-secret").RootElement.GetArrayLength());
        Assert.Equal(ProviderErrorClass.UpstreamInvalidResponse, json.ErrorClass);
        Assert.StartsWith("the answer is not valid JSON", json.ProviderMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-up-secret", json.ToString(), StringComparison.Ordinal);

        var missing = await Fails(() => JsonDocument.Parse("{}").RootElement.GetProperty("choices").GetArrayLength());
        Assert.Equal((ProviderErrorClass.UpstreamInvalidResponse, "the answer lacks a field its API requires"), (missing.ErrorClass, missing.ProviderMessage));

        var wrongType = await Fails(() => JsonDocument.Parse("{\"choices\":\"x\"}").RootElement.GetProperty("choices").GetArrayLength());
        Assert.Equal(ProviderErrorClass.UpstreamInvalidResponse, wrongType.ErrorClass);

        var other = await Fails(() => throw new OverflowException("detail"));
        Assert.Equal((ProviderErrorClass.UpstreamInvalidResponse, "the answer could not be read (OverflowException)"), (other.ErrorClass, other.ProviderMessage));

        var cut = await Fails(() => throw new HttpIOException(HttpRequestError.ResponseEnded, "The response ended prematurely."));
        Assert.Equal(ProviderErrorClass.Connection, cut.ErrorClass);

        var typed = await Fails(() => throw ProviderException.Create(ProviderErrorClass.ContentPolicy, Provider, Model, 200, "refused"));
        Assert.Equal(ProviderErrorClass.ContentPolicy, typed.ErrorClass); // what the adapter typed passes unchanged

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upstream.ReadAsync<int>(Model, () => throw new OperationCanceledException(cancelled.Token), cancelled.Token));
    }
}
