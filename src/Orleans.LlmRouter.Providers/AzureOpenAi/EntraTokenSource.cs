using Azure.Core;

namespace Orleans.LlmRouter.Providers.AzureOpenAi;

/// <summary>
/// Bearer tokens for one scope from a <see cref="TokenCredential"/>, cached until five minutes before they expire (or
/// the credential's refresh time), one refresh at a time.
/// </summary>
internal sealed class EntraTokenSource(TokenCredential credential, string scope, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private AccessToken? _token;

    /// <summary>The last token handed out (scrubbed from what the upstream sends back), or null.</summary>
    public string? Current => _token?.Token;

    /// <summary>A token valid for at least the refresh margin (or as long as the credential allows).</summary>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(_token) is { } cached)
        {
            return cached;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (Fresh(_token) is { } again)
            {
                return again;
            }

            var token = await credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken);
            _token = token;
            return token.Token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private string? Fresh(AccessToken? token)
    {
        if (token is not { } t)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var refreshAt = t.RefreshOn ?? t.ExpiresOn - RefreshMargin;
        return now < refreshAt && now < t.ExpiresOn ? t.Token : null;
    }
}
