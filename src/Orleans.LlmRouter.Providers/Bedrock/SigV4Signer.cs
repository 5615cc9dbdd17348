using System.Globalization;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using Amazon.Util;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// Signs a request with AWS Signature Version 4 using the AWS SDK's own signer (<see cref="AWS4Signer"/>'s canonical
/// request and signature): sets <c>x-amz-date</c>, <c>x-amz-content-sha256</c>, <c>x-amz-security-token</c> (temporary
/// credentials) and <c>Authorization</c>. No cryptography is written here.
/// </summary>
internal sealed class SigV4Signer(string region, string service, TimeProvider time)
{
    public string Region => region;

    /// <summary>Signs <paramref name="request"/> (absolute URI, body <paramref name="body"/>) with <paramref name="credentials"/>.</summary>
    public void Sign(HttpRequestMessage request, byte[]? body, ImmutableCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var uri = request.RequestUri ?? throw new ArgumentException("the request has no URI", nameof(request));
        var signedAt = time.GetUtcNow().UtcDateTime;
        var bodyHash = AWSSDKUtils.ToHex(AWS4Signer.ComputeHash(body ?? []), true);
        var amzDate = signedAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["host"] = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}",
            ["x-amz-date"] = amzDate,
            ["x-amz-content-sha256"] = bodyHash,
        };
        if (request.Content?.Headers.ContentType is { } contentType)
        {
            headers["content-type"] = contentType.ToString();
        }

        if (credentials.UseToken)
        {
            headers["x-amz-security-token"] = credentials.Token;
        }

        var (signedHeaders, canonical) = Sdk.Canonical(uri, request.Method.Method, headers, bodyHash);
        var result = AWS4Signer.ComputeSignature(credentials, region, signedAt, service, signedHeaders, canonical);
        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", bodyHash);
        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", credentials.Token);
        }

        request.Headers.TryAddWithoutValidation("Authorization", result.ForAuthorizationHeader);
    }

    /// <summary>The SDK signer's canonicalisation, which it offers to its subclasses.</summary>
    private sealed class Sdk : AWS4Signer
    {
        public static (string SignedHeaders, string CanonicalRequest) Canonical(Uri uri, string method, Dictionary<string, string> headers, string bodyHash)
        {
            var sorted = SortAndPruneHeaders(headers);
            var endpoint = new Uri(uri.GetLeftPart(UriPartial.Authority));
            var canonical = CanonicalizeRequest(endpoint, Uri.UnescapeDataString(uri.AbsolutePath), method, sorted, CanonicalizeQueryParameters(uri.Query.TrimStart('?')), bodyHash, new Dictionary<string, string>(), true);
            return (CanonicalizeHeaderNames(sorted), canonical);
        }
    }
}
