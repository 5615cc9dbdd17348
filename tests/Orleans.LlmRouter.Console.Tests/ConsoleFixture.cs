using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Console.Tests;

/// <summary>
/// A real gateway (embedded host: one silo, in-memory storage, the shipped configuration with its simulated provider)
/// on a loopback port, and the machine's Chromium driven by Playwright. Chromium comes from <c>LLMROUTER_CHROMIUM</c>
/// (default <c>/usr/bin/chromium</c>, Debian's package); Playwright is never asked to download one. Without it the
/// tests skip, or fail when <c>CI=true</c>.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string AdminKey = "sk-llmrouter-admin-dev";

    private const string AdminKeyHash = "sha256:3bbd2a43ba10dd4389e53cd5c54888d63aba64f9c49cc829b75ca2c68d4e7716";

    private WebApplication? _app;
    private IPlaywright? _playwright;

    /// <summary>The clock of console sessions only (the cookie scheme's), so a test can let a session expire.</summary>
    public FakeTimeProvider SessionClock { get; } = new(DateTimeOffset.UtcNow);

    public static string ChromiumPath => Environment.GetEnvironmentVariable("LLMROUTER_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    /// <summary>Why the browser tests cannot run here, or null.</summary>
    public string? Missing { get; private set; }

    public IBrowser Browser { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>An HTTP client with the admin key (the JSON admin API) on the same gateway.</summary>
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>LLMROUTER_SCREENSHOTS</c>, or <c>screenshots/</c> beside the test assembly.</summary>
    public string ScreenshotDirectory { get; } = Environment.GetEnvironmentVariable("LLMROUTER_SCREENSHOTS") is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            Missing = $"Chromium was not found at {ChromiumPath} (install Debian's 'chromium' package or set LLMROUTER_CHROMIUM).";
            return;
        }

        Directory.CreateDirectory(ScreenshotDirectory);
        _app = GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={Path.Combine(AppContext.BaseDirectory, "shipped-config")}",
            $"--LlmRouter:AdminKeyHash={AdminKeyHash}",
            $"--LlmRouter:SiloPort={FreePort()}",
            $"--LlmRouter:GatewayPort={FreePort()}",
            $"--LlmRouter:ClusterId=console-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Warning",
        ],
        builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.PostConfigure<CookieAuthenticationOptions>("LlmRouterConsole", o => o.TimeProvider = SessionClock);
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        Admin = new HttpClient { BaseAddress = BaseAddress };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Containers run tests as root, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>Skips the test when Chromium is missing, or fails it when running in CI.</summary>
    public void RequireBrowser()
    {
        if (Missing is null)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(Missing + " CI=true: the console's browser tests must run.");
        }

        Assert.Skip(Missing);
    }

    /// <summary>A fresh browser context (its own cookies) on the gateway.</summary>
    public async Task<IBrowserContext> NewContextAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1366, Height = 900 } });
        context.SetDefaultTimeout(15_000);
        return context;
    }

    public async Task ScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        Admin?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
