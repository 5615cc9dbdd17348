using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Http;

/// <summary>
/// The HTTP plumbing every adapter shares: the provider's base address, a per-call timeout that is told apart from the
/// caller's cancellation (timeout → <see cref="ProviderErrorClass.Timeout"/>, caller → <see cref="OperationCanceledException"/>
/// and the upstream request aborted), connection failures → <see cref="ProviderErrorClass.Connection"/>, and non-2xx
/// answers → the typed errors with the key scrubbed from the provider's message. Reading an answer goes through it too:
/// <see cref="ReadAsync{T}"/> and <see cref="Guard"/> turn any failure the adapter did not type (malformed JSON, a
/// missing field, a wrong type) into <see cref="ProviderErrorClass.UpstreamInvalidResponse"/>, and stream bodies are read
/// with the provider's idle timeout between chunks (<see cref="ReadEventsAsync"/>, <see cref="ReadLinesAsync"/>).
/// </summary>
internal sealed class UpstreamHttp
{
    private readonly ProviderDefinition _provider;
    private readonly HttpClient _http;
    private readonly string? _secret;
    private readonly Action<HttpRequestHeaders>? _authorize;
    private readonly Func<HttpResponseMessage, string, ModelDefinition?, ProviderException>? _errors;
    private readonly TimeProvider _time;

    /// <summary>Creates the plumbing for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeout).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>; its base address and timeout are set here.</param>
    /// <param name="defaultBaseUrl">The API's address when the provider names none.</param>
    /// <param name="secret">The API key, scrubbed from every message an upstream sends back.</param>
    /// <param name="authorize">Adds the provider's authentication headers to each request.</param>
    /// <param name="errors">Maps a non-2xx answer to a typed error when the provider's error body needs more than <see cref="HttpErrors.FromResponse"/>.</param>
    /// <param name="time">The clock of the stream idle timeout (the system clock when null).</param>
    public UpstreamHttp(ProviderDefinition provider, HttpClient http, string defaultBaseUrl, string? secret, Action<HttpRequestHeaders>? authorize, Func<HttpResponseMessage, string, ModelDefinition?, ProviderException>? errors = null, TimeProvider? time = null)
    {
        _errors = errors;
        _time = time ?? TimeProvider.System;
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _secret = secret;
        _authorize = authorize;
        _http.BaseAddress = new Uri((provider.BaseUrl ?? defaultBaseUrl).TrimEnd('/') + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan; // the per-call timeout below tells timeouts from caller cancellation
    }

    public ProviderDefinition Provider => _provider;

    /// <summary>
    /// Runs on each request after its headers and body are set and before it is sent: for authentication that needs
    /// the whole request or an awaited token (a SigV4 signature over method, URI, headers and body; an Entra ID bearer
    /// token). A failure it throws that is not a <see cref="ProviderException"/> becomes an authentication error.
    /// </summary>
    public Func<HttpRequestMessage, byte[]?, CancellationToken, ValueTask>? Prepare { get; init; }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        _authorize?.Invoke(request.Headers);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (Prepare is { } prepare)
        {
            try
            {
                await prepare(request, body, cancellationToken);
            }
            catch (Exception ex) when (ex is not ProviderException and not OperationCanceledException)
            {
                throw ProviderException.Create(ProviderErrorClass.Authentication, _provider, model, null, Scrub("the request could not be authenticated: " + ex.Message)!, inner: ex);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_provider.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, timeout.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw ProviderException.Create(ProviderErrorClass.Timeout, _provider, model, null, $"no response within {_provider.Timeout.TotalSeconds:0.#} s", inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, Scrub(ex.HttpRequestError + ": " + ex.Message)!, inner: ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            throw _errors?.Invoke(response, text, model) ?? HttpErrors.FromResponse(response, text, _provider, model, secret: _secret);
        }
    }

    /// <summary>A stream cut while reading (after a 200) is a connection error, unless the caller cancelled.</summary>
    public ProviderException StreamCut(Exception ex, ModelDefinition? model) =>
        ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, Scrub("the stream was cut: " + ex?.Message)!, inner: ex);

    /// <summary>The provider answered 200, but not in its documented shape (<paramref name="what"/> says how; no prompt, no key).</summary>
    public ProviderException Invalid(ModelDefinition? model, string what, Exception? inner = null) =>
        ProviderException.Create(ProviderErrorClass.UpstreamInvalidResponse, _provider, model, null, what, inner: inner);

    /// <summary>A stream that ended cleanly, but before the event that ends it in the API ([DONE], message_stop, …).</summary>
    public ProviderException Truncated(ModelDefinition? model) => Invalid(model, TruncatedMessage);

    /// <summary>The message of <see cref="Truncated"/>.</summary>
    public const string TruncatedMessage = "the stream ended without its terminal event";

    /// <summary>
    /// Reads and maps one answer. What the adapter throws itself (typed errors) and the caller's cancellation pass
    /// through; a body cut while reading is a connection error; anything else — malformed JSON, a missing field, a
    /// value of the wrong type — is <see cref="ProviderErrorClass.UpstreamInvalidResponse"/>.
    /// </summary>
    public async Task<T> ReadAsync<T>(ModelDefinition? model, Func<Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            return await read();
        }
        catch (Exception ex) when (Untyped(ex, model, cancellationToken) is { } typed)
        {
            throw typed;
        }
    }

    /// <summary>
    /// A stream with the same guarantee as <see cref="ReadAsync{T}"/>: the chunks before a failure are handed on,
    /// then the failure arrives typed. The caller's cancellation stays a cancellation.
    /// </summary>
    public async IAsyncEnumerable<T> Guard<T>(IAsyncEnumerable<T> source, ModelDefinition? model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var enumerator = source.GetAsyncEnumerator(cancellationToken);
        await using (enumerator)
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (Untyped(ex, model, cancellationToken) is { } typed)
                {
                    throw typed;
                }

                yield return enumerator.Current;
            }
        }
    }

    /// <summary>
    /// The server-sent events of a 200 stream, each handed on as it arrives. While the next event is awaited the
    /// provider's <see cref="ProviderDefinition.StreamIdleTimeout"/> runs, restarted by any bytes that arrive (SSE
    /// comments and pings that proxies send as keep-alives count) and paused while the consumer holds an event:
    /// silence past it aborts the upstream request and fails with <see cref="ProviderErrorClass.Timeout"/>; a body cut
    /// while reading is <see cref="ProviderErrorClass.Connection"/>; the caller's cancellation stays a cancellation.
    /// </summary>
    public async IAsyncEnumerable<SseItem<string>> ReadEventsAsync(HttpResponseMessage response, ModelDefinition? model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        using var idle = new IdleTimeout(_time, cancellationToken);
        await using var stream = new ActivityStream(await response.Content.ReadAsStreamAsync(cancellationToken), idle.Touch);
        var events = SseParser.Create(stream).EnumerateAsync(idle.Token).GetAsyncEnumerator(idle.Token);
        await using (events)
        {
            while (true)
            {
                idle.Start(_provider.StreamIdleTimeout);
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (ReadFailure(ex, idle, model, cancellationToken) is { } typed)
                {
                    throw typed;
                }

                idle.Stop();
                yield return events.Current;
            }
        }
    }

    /// <summary>The lines of a 200 NDJSON stream (Ollama), with the same idle timeout and failures as <see cref="ReadEventsAsync"/>.</summary>
    public async IAsyncEnumerable<string> ReadLinesAsync(HttpResponseMessage response, ModelDefinition? model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        using var idle = new IdleTimeout(_time, cancellationToken);
        await using var stream = new ActivityStream(await response.Content.ReadAsStreamAsync(cancellationToken), idle.Touch);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (true)
        {
            idle.Start(_provider.StreamIdleTimeout);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(idle.Token);
            }
            catch (Exception ex) when (ReadFailure(ex, idle, model, cancellationToken) is { } typed)
            {
                throw typed;
            }

            idle.Stop();
            if (line is null)
            {
                yield break;
            }

            yield return line;
        }
    }

    /// <summary>
    /// The items of a 200 stream in a binary framing (AWS event stream), each read by <paramref name="readNext"/>
    /// (null at a clean end), with the same idle timeout and failures as <see cref="ReadEventsAsync"/>.
    /// </summary>
    public async IAsyncEnumerable<T> ReadFramesAsync<T>(HttpResponseMessage response, ModelDefinition? model, Func<Stream, CancellationToken, ValueTask<T?>> readNext, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(readNext);
        using var idle = new IdleTimeout(_time, cancellationToken);
        await using var stream = new ActivityStream(await response.Content.ReadAsStreamAsync(cancellationToken), idle.Touch);
        while (true)
        {
            idle.Start(_provider.StreamIdleTimeout);
            T? item;
            try
            {
                item = await readNext(stream, idle.Token);
            }
            catch (Exception ex) when (ReadFailure(ex, idle, model, cancellationToken) is { } typed)
            {
                throw typed;
            }

            idle.Stop();
            if (item is null)
            {
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>The provider's message with the key removed.</summary>
    public string? Scrub(string? text) => HttpErrors.Scrub(text, _secret);

    /// <summary>What a failure the adapter did not type becomes, or null to let it pass (typed, or the caller's cancellation).</summary>
    private ProviderException? Untyped(Exception ex, ModelDefinition? model, CancellationToken cancellationToken) => ex switch
    {
        ProviderException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException => ProviderException.Create(ProviderErrorClass.Timeout, _provider, model, null, "the answer was cancelled before it was read", inner: ex),
        HttpRequestException or IOException => StreamCut(ex, model),
        JsonException { LineNumber: { } line, BytePositionInLine: { } at } => Invalid(model, $"the answer is not valid JSON (line {line + 1}, byte {at + 1})", ex),
        JsonException => Invalid(model, "the answer is not valid JSON", ex),
        KeyNotFoundException => Invalid(model, "the answer lacks a field its API requires", ex),
        InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentException => Invalid(model, "a field of the answer has a type or value its API does not allow", ex),
        _ => Invalid(model, $"the answer could not be read ({ex.GetType().Name})", ex),
    };

    /// <summary>A failed read of a stream body: the idle timeout, a cut, or null for the caller's cancellation.</summary>
    private ProviderException? ReadFailure(Exception ex, IdleTimeout idle, ModelDefinition? model, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (idle.Expired)
        {
            return ProviderException.Create(ProviderErrorClass.Timeout, _provider, model, null, $"the stream sent nothing for {_provider.StreamIdleTimeout.TotalSeconds:0.#} s", inner: ex);
        }

        return ex is HttpRequestException or IOException ? StreamCut(ex, model) : null;
    }

    /// <summary>
    /// A restartable timer linked to the caller's token: <see cref="Token"/> is cancelled when the caller cancels or
    /// when <see cref="Start"/>'s span passes without a <see cref="Touch"/> or <see cref="Stop"/>. Cancelling a read
    /// of the response body aborts the upstream request.
    /// </summary>
    private sealed class IdleTimeout : IDisposable
    {
        private readonly CancellationTokenSource _timer;
        private readonly CancellationTokenSource _linked;
        private TimeSpan _span = Timeout.InfiniteTimeSpan;
        private bool _armed;

        public IdleTimeout(TimeProvider time, CancellationToken caller)
        {
            _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _timer.Token);
        }

        public CancellationToken Token => _linked.Token;

        public bool Expired => _timer.IsCancellationRequested;

        public void Start(TimeSpan span)
        {
            _span = span;
            _armed = true;
            _timer.CancelAfter(span);
        }

        /// <summary>Bytes arrived: the silence starts again.</summary>
        public void Touch()
        {
            if (_armed)
            {
                _timer.CancelAfter(_span);
            }
        }

        public void Stop()
        {
            _armed = false;
            _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }

        public void Dispose()
        {
            _linked.Dispose();
            _timer.Dispose();
        }
    }

    /// <summary>A read-only view of a response body that reports every read that brought bytes.</summary>
    private sealed class ActivityStream(Stream inner, Action onBytes) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Seen(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Seen(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Seen(int read)
        {
            if (read > 0)
            {
                onBytes();
            }

            return read;
        }
    }
}
