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
    private readonly Func<HttpResponseMessage, string, ModelDefinition?, ProviderException>? _errors;

    /// <summary>Creates the plumbing for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeout).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>; its base address and timeout are set here.</param>
    /// <param name="defaultBaseUrl">The API's address when the provider names none.</param>
    /// <param name="secret">The API key, scrubbed from every message an upstream sends back.</param>
    /// <param name="authorize">Adds the provider's authentication headers to each request.</param>
    /// <param name="errors">Maps a non-2xx answer to a typed error when the provider's error body needs more than <see cref="HttpErrors.FromResponse"/>.</param>
    public UpstreamHttp(ProviderDefinition provider, HttpClient http, string defaultBaseUrl, string? secret, Action<HttpRequestHeaders>? authorize, Func<HttpResponseMessage, string, ModelDefinition?, ProviderException>? errors = null)
    {
        _errors = errors;
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
        ProviderException.Create(ProviderErrorClass.Connection, _provider, model, null, "the stream was cut: " + ex?.Message, inner: ex);

    /// <summary>The provider's message with the key removed.</summary>
    public string? Scrub(string? text) => HttpErrors.Scrub(text, _secret);
}
