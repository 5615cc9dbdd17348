using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Simulated;

/// <summary>
/// A key-less provider for demos and tests: deterministic replies derived from the request, realistic token usage,
/// configurable latency, time to first token and chunk cadence, and failure injection — randomly by
/// <c>failure_rate</c>, or on demand by a marker in the last user message: <c>[simulate:KIND]</c> or
/// <c>[simulate:KIND@MODEL]</c> (MODEL is a logical or provider model name), where KIND is one of
/// rate_limit, server, overloaded, timeout, connection, bad_request, auth, context_length, content_policy,
/// invalid_json, midstream (fails after two streamed chunks), crash (the adapter fails with an unexpected exception, as
/// a parser would on a malformed answer), nousage (the answer carries no usage: zero counts, or a stream whose last
/// chunk has no usage) or hang (no answer until the caller gives up).
/// </summary>
internal sealed partial class SimulatedChatProvider : IChatProvider
{
    private readonly ProviderDefinition _provider;
    private readonly SimulatedOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _dice;
    private readonly Lock _diceLock = new();

    public SimulatedChatProvider(ProviderDefinition provider, TimeProvider? time = null)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _options = SimulatedOptions.From(provider);
        _time = time ?? TimeProvider.System;
        _dice = new Random(_options.Seed);
    }

    public async Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var injected = Injected(call);
        await DelayAsync(_options.Latency, cancellationToken);
        await HangIfInjectedAsync(injected, cancellationToken);
        ThrowIfInjected(injected, call.Model, streaming: false);
        var (message, finish, usage) = SimulatedReplies.Reply(call.Request, call.Model.ProviderModel);
        if (injected == "invalid_json")
        {
            message = RouterMessage.FromText("assistant", "this is {not json");
        }

        if (injected == "nousage")
        {
            usage = TokenUsage.Zero;
        }

        return new ProviderResponse(message, finish, usage, "sim-" + Guid.NewGuid().ToString("N"));
    }

    public async IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var injected = Injected(call);
        await DelayAsync(_options.TimeToFirstToken, cancellationToken);
        await HangIfInjectedAsync(injected, cancellationToken);
        ThrowIfInjected(injected, call.Model, streaming: true);
        var (message, finish, usage) = SimulatedReplies.Reply(call.Request, call.Model.ProviderModel);
        if (message.ToolCalls is { Count: > 0 } calls)
        {
            yield return new ProviderStreamChunk(ToolCalls: calls);
            yield return new ProviderStreamChunk(FinishReason: finish, Usage: usage);
            yield break;
        }

        var text = message.Text;
        var pieces = Chunk(text);
        long sent = 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(_options.ChunkDelay, cancellationToken);
            }

            if (injected == "midstream" && i == 2)
            {
                throw ProviderException.Create(ProviderErrorClass.Server, _provider, call.Model, 200, "simulated mid-stream failure");
            }

            sent += pieces[i].Length;
            yield return new ProviderStreamChunk(TextDelta: pieces[i]);
        }

        yield return new ProviderStreamChunk(FinishReason: finish, Usage: injected == "nousage" ? null : usage);
    }

    public Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var dims = call.Dimensions ?? 16;
        var vectors = call.Inputs.Select(input => Vector(input, dims)).ToList();
        var tokens = call.Inputs.Sum(i => Core.Tokens.TokenEstimator.EstimateText(i));
        return Task.FromResult(new EmbeddingResponse(vectors, tokens));
    }

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(["sim-small-1", "sim-large-1", "sim-embed-1"]);

    public Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ProviderHealthProbe(true, "simulated", TimeSpan.Zero));

    /// <summary>
    /// A deterministic unit vector that behaves like an embedding: the sum of one pseudo-random vector per word (letters
    /// and digits, case-folded), so texts that share most of their words point the same way and unrelated texts do not.
    /// </summary>
    private static float[] Vector(string input, int dims)
    {
        var v = new float[dims];
        var words = System.Text.RegularExpressions.Regex.Matches(input.ToLowerInvariant(), @"[\p{L}\p{N}]+").Select(m => m.Value).ToList();
        foreach (var word in words.Count > 0 ? words : [input])
        {
            var seed = SimulatedReplies.Hash(word);
            for (var i = 0; i < dims; i++)
            {
                seed = (seed * 1664525u) + 1013904223u;
                v[i] += (seed / (float)uint.MaxValue) - 0.5f;
            }
        }

        double norm = 0;
        foreach (var x in v)
        {
            norm += x * x;
        }

        var scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0f;
        for (var i = 0; i < dims; i++)
        {
            v[i] *= scale;
        }

        return v;
    }

    private static List<string> Chunk(string text)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ' ' && i - start >= 6))
            {
                parts.Add(text[start..i]);
                start = i;
            }
        }

        return parts;
    }

    private string? Injected(ProviderCall call)
    {
        var last = call.Request.Messages.LastOrDefault(m => m.Role == "user")?.Text;
        if (last is not null && last.Contains("[simulate:", StringComparison.Ordinal))
        {
            foreach (Match m in Marker().Matches(last))
            {
                var target = m.Groups["target"].Value;
                if (target.Length == 0 || target == call.Model.Name || target == call.Model.ProviderModel || target == _provider.Id)
                {
                    return m.Groups["kind"].Value;
                }
            }
        }

        if (_options.FailureRate > 0)
        {
            lock (_diceLock)
            {
                if (_dice.NextDouble() < _options.FailureRate)
                {
                    return _options.FailureKind;
                }
            }
        }

        return null;
    }

    private void ThrowIfInjected(string? kind, ModelDefinition model, bool streaming)
    {
        _ = streaming;
        ProviderException? ex = kind switch
        {
            null or "invalid_json" or "midstream" or "nousage" or "hang" => null,
            "crash" => throw new InvalidOperationException("simulated adapter crash: unexpected token in the provider's answer"),
            "rate_limit" => ProviderException.Create(ProviderErrorClass.RateLimited, _provider, model, 429, "simulated rate limit", _options.RetryAfter ?? TimeSpan.FromSeconds(1)),
            "overloaded" => ProviderException.Create(ProviderErrorClass.Overloaded, _provider, model, 529, "simulated overload", _options.RetryAfter),
            "timeout" => ProviderException.Create(ProviderErrorClass.Timeout, _provider, model, null, "simulated timeout"),
            "connection" => ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, "simulated connection failure"),
            "bad_request" => ProviderException.Create(ProviderErrorClass.BadRequest, _provider, model, 400, "simulated bad request"),
            "auth" => ProviderException.Create(ProviderErrorClass.Authentication, _provider, model, 401, "simulated authentication failure"),
            "context_length" => ProviderException.Create(ProviderErrorClass.ContextLengthExceeded, _provider, model, 400, "simulated context length exceeded"),
            "content_policy" => ProviderException.Create(ProviderErrorClass.ContentPolicy, _provider, model, 400, "simulated content policy refusal"),
            _ => ProviderException.Create(ProviderErrorClass.Server, _provider, model, 500, "simulated server error"),
        };
        if (ex is not null)
        {
            throw ex;
        }
    }

    private static async Task HangIfInjectedAsync(string? kind, CancellationToken cancellationToken)
    {
        if (kind == "hang")
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, _time, cancellationToken) : Task.CompletedTask;

    [GeneratedRegex(@"\[simulate:(?<kind>[a-z_]+)(@(?<target>[A-Za-z0-9._:/-]+))?\]")]
    private static partial Regex Marker();
}
