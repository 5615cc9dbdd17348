using System.Net.Http.Headers;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Http;

/// <summary>
/// The HTTP plumbing every adapter shares: the provider's base address, a per-call timeout that is told apart from the
/// caller's cancellation (timeout → <see cref="ProviderErrorClass.Timeout"/>, caller → <see cref="OperationCanceledException"/>
/// and the upstream request aborted), connection failures → <see cref="ProviderErrorClass.Connection"/>, and non-2xx
/// answers → the typed errors with the key scrubbed from the provider's message.
/// </summary>
public sealed class UpstreamHttp
{
    private readonly ProviderDefinition _provider;
    private readonly HttpClient _http;
    private readonly string? _secret;
    private readonly Action<HttpRequestHeaders>? _authorize;

    public UpstreamHttp(ProviderDefinition provider, HttpClient http, string defaultBaseUrl, string? secret, Action<HttpRequestHeaders>? authorize)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _secret = secret;
        _authorize = authorize;
        _http.BaseAddress = new Uri((provider.BaseUrl ?? defaultBaseUrl).TrimEnd('/') + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan; // the per-call timeout below tells timeouts from caller cancellation
    }

    public ProviderDefinition Provider => _provider;

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        _authorize?.Invoke(request.Headers);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
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
            throw ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, ex.HttpRequestError + ": " + ex.Message, inner: ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            throw HttpErrors.FromResponse(response, text, _provider, model, secret: _secret);
        }
    }

    /// <summary>A stream cut while reading (after a 200) is a connection error, unless the caller cancelled.</summary>
    public ProviderException StreamCut(Exception ex, ModelDefinition? model) =>
        ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, "the stream was cut: " + ex?.Message, inner: ex);

    /// <summary>The provider's message with the key removed.</summary>
    public string? Scrub(string? text) => HttpErrors.Scrub(text, _secret);
}
