namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// The host's <c>--probe &lt;url&gt;</c> mode: one GET, exit code 0 on a 2xx answer within <see cref="Timeout"/>, 1
/// otherwise. It is the container image's <c>HEALTHCHECK</c>, so the image needs no shell, curl or wget (it runs on
/// the chiseled ASP.NET runtime image).
/// </summary>
internal static class HealthProbe
{
    /// <summary>The longest a probe waits for its answer.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>True when the command line asks for the probe mode.</summary>
    public static bool Requested(string[] args) => args is not null && args.Contains("--probe", StringComparer.Ordinal);

    /// <summary>Probes the URL after <c>--probe</c> (default <c>http://127.0.0.1:8080/readyz</c>).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var index = Array.IndexOf(args, "--probe");
        var text = index + 1 < args.Length ? args[index + 1] : "http://127.0.0.1:8080/readyz";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"--probe needs an http(s) URL, not '{text}'");
            return 1;
        }

        using var client = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(url);
            if (response.IsSuccessStatusCode)
            {
                return 0;
            }

            await error.WriteLineAsync($"{url}: {(int)response.StatusCode} {response.ReasonPhrase}");
            return 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"{url}: {ex.Message}");
            return 1;
        }
    }
}
