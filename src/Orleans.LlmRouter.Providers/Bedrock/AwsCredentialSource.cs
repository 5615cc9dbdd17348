using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// The AWS credentials of a <c>bedrock</c> provider: a named profile (option <c>profile</c>, from the shared
/// credentials and config files, through the SDK's <see cref="CredentialProfileStoreChain"/>), else the standard
/// environment variables <c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c> and <c>AWS_SESSION_TOKEN</c>, else the
/// profile named by <c>AWS_PROFILE</c> (or <c>default</c>). Read per request, so rotated credentials are picked up.
/// </summary>
/// <param name="profile">The profile the provider names, or null.</param>
/// <param name="environment">Reads the AWS environment variables.</param>
/// <param name="profilesLocation">The shared credentials file (the SDK's default locations when null).</param>
internal sealed class AwsCredentialSource(string? profile, Func<string, string?> environment, string? profilesLocation = null)
{
    public const string AccessKeyVariable = "AWS_ACCESS_KEY_ID";
    public const string SecretKeyVariable = "AWS_SECRET_ACCESS_KEY";
    public const string SessionTokenVariable = "AWS_SESSION_TOKEN";

    /// <summary>The credentials to sign with; throws <see cref="InvalidOperationException"/> naming what is missing (never a value).</summary>
    public async ValueTask<ImmutableCredentials> GetAsync()
    {
        if (profile is null && environment(AccessKeyVariable) is { Length: > 0 } access && environment(SecretKeyVariable) is { Length: > 0 } secret)
        {
            var token = environment(SessionTokenVariable);
            return new ImmutableCredentials(access, secret, string.IsNullOrEmpty(token) ? null : token);
        }

        var name = profile ?? environment("AWS_PROFILE") ?? "default";
        var chain = profilesLocation is null ? new CredentialProfileStoreChain() : new CredentialProfileStoreChain(profilesLocation);
        if (chain.TryGetAWSCredentials(name, out var credentials))
        {
            return await credentials.GetCredentialsAsync();
        }

        throw new InvalidOperationException(profile is null
            ? $"no AWS credentials: set {AccessKeyVariable} and {SecretKeyVariable} (and {SessionTokenVariable} for temporary ones), or a profile"
            : $"no AWS credentials in profile '{profile}'");
    }
}
