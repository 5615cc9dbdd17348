using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Admin;
using Orleans.LlmRouter.Host.Anthropic;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Mcp;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Host.Responses;
using Orleans.LlmRouter.Host.Ui;
using Orleans.Dashboard;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Builds the gateway: loads and validates <c>config/</c>, starts a silo (embedded default: localhost clustering,
/// in-memory storage) and maps the HTTP surface on it. Settings (appsettings, environment <c>LlmRouter__*</c>, or
/// command line <c>--LlmRouter:ConfigPath=...</c>) are options classes bound from the <c>LlmRouter</c> section and
/// validated at start-up: <see cref="LlmRouterOptions"/>, <see cref="LlmRouterStorageOptions"/>,
/// <see cref="LlmRouterClusterOptions"/>, <see cref="SecureDefaultsOptions"/>, <see cref="ShutdownOptions"/>,
/// <see cref="RequestLimitsOptions"/> (<c>Limits</c>), <c>BudgetOptions</c> (<c>Budgets</c>), <see cref="RouterOptions"/> (<c>Router</c>);
/// deploy/README.md lists them all.
/// </summary>
public static partial class GatewayHost
{
    /// <summary>Where the gateway listens when no URL is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Runs the gateway until shutdown. Exit code 2 when the configuration is invalid (including shipped dev keys outside
    /// the embedded mode), 3 when stopping overran its bound (<see cref="ShutdownOptions"/>). With <c>--audit</c>, runs
    /// <see cref="LedgerAudit"/> against a running gateway instead; with <c>--probe &lt;url&gt;</c>, <see cref="HealthProbe"/>.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (HealthProbe.Requested(args))
        {
            return await HealthProbe.RunAsync(args, Console.Error);
        }

        if (LedgerAudit.Requested(args))
        {
            return await LedgerAudit.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable("LLMROUTER_ADMIN_KEY"));
        }

        WebApplication? app = null;
        try
        {
            app = Build(args);
            await app.StartAsync();
        }
        catch (Exception ex) when (ex is ConfigurationException or OptionsValidationException)
        {
            var message = ex is OptionsValidationException invalid
                ? "The configuration has error(s):" + Environment.NewLine + string.Join(Environment.NewLine, invalid.Failures.Select(f => "  " + f))
                : ex.Message;
            await Console.Error.WriteLineAsync(message);
            await Console.Error.WriteLineAsync("The gateway did not start: fix the configuration above.");
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            return 2;
        }

        return await RunUntilStoppedAsync(app);
    }

    /// <summary>
    /// Waits for a stop request, then stops within <see cref="ShutdownOptions"/>' bound: the host's own timeout cancels
    /// what still drains, and if stopping has still not finished <see cref="ShutdownOptions.ExitMargin"/> later (work
    /// that ignores cancellation), the process exits anyway with code 3 instead of hanging.
    /// </summary>
    private static async Task<int> RunUntilStoppedAsync(WebApplication app)
    {
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (app.Lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
        {
            await stopping.Task;
        }

        // Readiness is already off (ReadyAsync answers 503 "draining" once stopping began); keep serving while load
        // balancers and Kubernetes Services take this process out of rotation, then stop listening and drain.
        var options = app.Services.GetRequiredService<ShutdownOptions>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orleans.LlmRouter");
        LogDraining(logger, options.DrainDelaySeconds, options.ShutdownTimeoutSeconds);
        if (options.DrainDelay > TimeSpan.Zero)
        {
            await Task.Delay(options.DrainDelay);
        }

        var bound = options.Timeout + ShutdownOptions.ExitMargin;
        var stop = app.StopAsync();
        if (await Task.WhenAny(stop, Task.Delay(bound)) != stop)
        {
            LogShutdownOverrun(logger, bound.TotalSeconds);
            return 3;
        }

        await stop;
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>Builds the gateway application; <paramref name="configure"/> can adjust the builder (tests, hosts).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;

        // The gateway's settings as options (LlmRouter section), validated now: clustering and storage shape the builder.
        builder.Services.AddLlmRouterSettings(config);
        var gateway = SettingsBinder.Bind<LlmRouterOptions>(config, new LlmRouterOptionsValidator());
        var configPath = ConfigLocator.Find(gateway.ConfigPath);
        // Provider types are what is registered: the built-in ones plus any a host (or test) added in configure.
        builder.Services.AddProviderFactories();
        var loaded = new CatalogLoader(builder.Services.LlmRouterProviderTypeNames()).LoadPath(configPath);

        if (string.IsNullOrEmpty(config["urls"]) && string.IsNullOrEmpty(config["ASPNETCORE_URLS"]) && string.IsNullOrEmpty(config["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // Request limits (LlmRouter:Limits): the body size is enforced by Kestrel while the body is read, the rest by
        // RequestLimits before routing. Validated at start-up.
        builder.Services.AddOptions<RequestLimitsOptions>().Bind(config.GetSection(RequestLimitsOptions.SectionName)).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestLimitsOptions>, RequestLimitsOptionsValidator>());
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>((k, limits) => k.Limits.MaxRequestBodySize = limits.Value.MaxBodyBytes);

        // Budget leases and idle runs (LlmRouter:Budgets), the router's bounds on calls to the cluster's grains
        // (LlmRouter:Router). Validated at start-up.
        builder.Services.AddOptions<Grains.Budgets.BudgetOptions>().Bind(config.GetSection("LlmRouter:Budgets"))
            .Validate(o => o.ReservationLease >= TimeSpan.FromSeconds(3) && o.RunIdleTimeout > TimeSpan.Zero, "LlmRouter:Budgets: ReservationLease must be at least 3 s and RunIdleTimeout positive.")
            .ValidateOnStart();
        // Stored responses of the Responses API (LlmRouter:Responses). Validated at start-up.
        builder.Services.AddOptions<Responses.ResponseStoreOptions>().Bind(config.GetSection(Responses.ResponseStoreOptions.SectionName))
            .Validate(o => o.Retention > TimeSpan.Zero, "LlmRouter:Responses: Retention must be positive.")
            .ValidateOnStart();
        builder.Services.AddOptions<Grains.Caching.ResponseCacheOptions>().Bind(config.GetSection("LlmRouter:Cache"))
            .Validate(o => o.DefaultTtl > TimeSpan.Zero && o.MaxBytesPerNamespace > 0 && o.MaxEntryBytes > 0 && o.LocalCopy >= TimeSpan.Zero && o.MaxLocalCopies > 0,
                "LlmRouter:Cache: DefaultTtl, MaxBytesPerNamespace, MaxEntryBytes and MaxLocalCopies must be positive, LocalCopy zero or more.")
            .ValidateOnStart();
        builder.Services.AddOptions<RouterOptions>().Bind(config.GetSection("LlmRouter:Router"))
            .Validate(o => o.GrainCallTimeout > TimeSpan.Zero && o.GrainRetryDeadline >= o.GrainCallTimeout, "LlmRouter:Router: GrainCallTimeout must be positive and GrainRetryDeadline at least as long.")
            .Validate(o => o.SlotWait >= TimeSpan.Zero && o.SlotWait < o.GrainCallTimeout, "LlmRouter:Router: SlotWait must be zero or more and shorter than GrainCallTimeout.")
            .ValidateOnStart();

        // Graceful shutdown within one bound: Kestrel stops taking requests and drains in-flight ones (including
        // streams), the silo deactivates grains (budget counters flush) and leaves membership, the ledger drains its queue.
        var shutdown = ShutdownOptions.Read(config);
        builder.Services.AddSingleton(shutdown);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdown.Timeout);

        var settings = SiloSettings.From(config);
        var secure = SecureDefaults.Read(config);
        var adminKeyHash = gateway.AdminKeyHash;
        if (SecureDefaults.Check(settings, secure, adminKeyHash, loaded.Catalog) is { Count: > 0 } insecure)
        {
            throw new ConfigurationException(insecure);
        }

        var catalogToRun = SecureDefaults.ApplySimulated(settings, secure, loaded.Catalog);
        var console = ConsoleOptions.Read(config); // the admin console at /ui (LlmRouter:Console)
        if (settings.Role == GatewayRole.FrontEnd)
        {
            builder.UseOrleansClient(client =>
            {
                settings.ApplyClient(client);
                client.AddActivityPropagation(); // one trace from the front end into the silos
                if (console.Dashboard)
                {
                    client.AddDashboard(o => o.HideTrace = true); // the silos must run it too (LlmRouter:Console:Dashboard)
                }
            });
            builder.Services.AddLlmRouterFrontEnd(catalogToRun);
            AddRouterCalls(builder.Services, guard: true);
        }
        else
        {
            builder.UseOrleans(silo =>
            {
                settings.Apply(silo);
                silo.AddActivityPropagation(); // one trace across silos
                if (console.Dashboard)
                {
                    silo.AddDashboard(o => o.HideTrace = true); // the Orleans dashboard's grains, served at /ui/cluster/
                }
                silo.Configure<GrainCollectionOptions>(o => o.DeactivationTimeout = shutdown.DeactivationTimeout);
                silo.Services.Configure<Grains.Hosting.RouterDrainOptions>(o => o.InFlightTimeout = shutdown.InFlightTimeout);
                silo.Services.AddLlmRouterGrains(catalogToRun);
            });
            AddRouterCalls(builder.Services, guard: false);
        }

        builder.Services.AddSingleton(new AdminKey(adminKeyHash));
        builder.Services.TryAddSingleton<Core.Tokens.PromptTokenCounter>(); // count_tokens on the front end (the silo shares it)
        GatewayTelemetry.Add(builder);
        builder.Services.AddLlmRouterAuthentication();
        if (console.Enabled)
        {
            builder.Services.AddLlmRouterConsole(console);
        }

        if (settings.Role != GatewayRole.Silo)
        {
            builder.Services.AddLlmRouterMcp(); // /mcp, the MCP gateway (Mcp/)
        }
        builder.Services.AddOpenApi();
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        var catalog = app.Services.GetRequiredService<ModelCatalog>();
        app.UseExceptionHandler(errors => errors.Run(UnhandledAsync));
        app.UseStatusCodePages(); // empty 4xx bodies (e.g. a JSON body that does not bind) become problem details
        GatewayTelemetry.Use(app); // X-Request-Id, trace ids in logs, /metrics
        app.UseAuthentication();
        app.UseAuthorization();
        if (settings.Role != GatewayRole.Silo)
        {
            app.MapOpenAiEndpoints();
            app.MapEmbeddingsEndpoint();
            app.MapAnthropicEndpoints();
            app.MapResponsesEndpoints();
            app.MapAdminEndpoints();
            app.MapLlmRouterMcp();
            app.MapOpenApi();
            if (console.Enabled)
            {
                app.MapLlmRouterConsole(console);
            }
        }

        app.MapGet("/healthz", () => TypedResults.Ok(new HealthBody("ok")));
        app.MapGet("/readyz", ReadyAsync);
        if (settings.Role != GatewayRole.FrontEnd)
        {
            // This silo's own view of provider state (for operators and for checking that silos agree).
            app.MapGet("/healthz/providers", (Grains.Providers.ProviderGate gate, ModelCatalog catalog) =>
                TypedResults.Ok(catalog.Providers.Keys.Order(StringComparer.Ordinal).Select(id => new { id, snapshot = gate.LocalSnapshot(id) }).ToArray()));
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orleans.LlmRouter");
        if (settings.Durable)
        {
            var clustering = settings.PostgresClustering ? "PostgreSQL" : "localhost";
            var mode = settings.OutageMode.ToString();
            LogDurable(logger, clustering, mode);
        }
        else
        {
            LogStorage(logger);
        }

        if (!SecureDefaults.IsEmbedded(settings) && secure.AllowDevKeys)
        {
            LogDevKeysAllowed(logger);
        }

        var files = string.Join(", ", loaded.Files);
        LogConfig(logger, files, catalog.Providers.Count, catalog.Models.Count, catalog.Actions.Count, catalog.Tenants.Count);
        // One line each for the live and the disabled providers (the loader's notices are all about disabled
        // providers, and the catalog in force says why each is).
        var providers = catalog.Providers.Values.OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        var live = string.Join(", ", providers.Where(p => p.Enabled).Select(p => $"{p.Id} ({p.Type})"));
        LogProvidersLive(logger, live);
        var disabled = providers.Where(p => !p.Enabled).Select(p => $"{p.Id} ({p.DisabledReason ?? "disabled"})").ToList();
        if (disabled.Count > 0)
        {
            var list = string.Join(", ", disabled);
            LogProvidersDisabled(logger, disabled.Count, list);
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var url in app.Urls)
            {
                LogListening(logger, url);
            }
        });
        return app;
    }

    /// <summary>
    /// The front end's router calls (<see cref="RouterCalls"/>): guarded against a lost silo when the front end is a
    /// separate Orleans client, which also hears of gateway connections dropping.
    /// </summary>
    private static void AddRouterCalls(IServiceCollection services, bool guard)
    {
        services.AddSingleton(sp => new RouterCalls(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<RouterClock>().Time, sp.GetRequiredService<ILogger<RouterCalls>>(), guard));
        if (guard)
        {
            services.AddSingleton<IClusterConnectionStatusObserver>(sp => sp.GetRequiredService<RouterCalls>());
        }
    }

    /// <summary>
    /// Ready when this silo is active in the cluster and the ledger's store answers; unready (503 <c>draining</c>) from
    /// the moment the process is asked to stop, so it is taken out of rotation before it stops listening.
    /// </summary>
    private static async Task<IResult> ReadyAsync(IServiceProvider services, ILedger ledger, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return TypedResults.Json(new HealthBody("draining"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var storage = await ledger.IsReachableAsync(cancellationToken);
        bool cluster;
        if (services.GetService<Orleans.Runtime.ISiloStatusOracle>() is { } oracle)
        {
            cluster = oracle.CurrentStatus == Orleans.Runtime.SiloStatus.Active;
        }
        else
        {
            // Front end: the cluster is reachable when a grain answers.
            try
            {
                await Contracts.LlmRouterGrainFactoryExtensions.GetTenantRegistry(services.GetRequiredService<IGrainFactory>()).GetSnapshotAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                cluster = true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                cluster = false;
            }
        }
        var body = new ReadyBody(storage && cluster ? "ready" : "not_ready", cluster, storage);
        return storage && cluster ? TypedResults.Ok(body) : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Last line of defence: an unexpected failure is a 500 in the surface's error shape, never a stack trace.</summary>
    private static Task UnhandledAsync(HttpContext http)
    {
        // What a surface maps (a silo lost mid-call is 503 with Retry-After, not a 500) is answered by its one mapping,
        // in the shape of the failing endpoint's surface (ISurfaceErrors metadata); other /v1 paths answer as OpenAI.
        var feature = http.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>();
        var error = feature?.Error;
        var surface = feature?.Endpoint?.Metadata.GetMetadata<Surfaces.ISurfaceErrors>()
            ?? (http.Request.Path.StartsWithSegments("/v1") ? OpenAiKeyFailures.Instance : null);
        if (error is not null && surface is not null && Surfaces.SurfaceFailure.Maps(error))
        {
            return surface.WriteExceptionAsync(http, error);
        }

        if (error is not null && surface is null && AdminProblems.Maps(error))
        {
            return AdminProblems.For(http, error).ExecuteAsync(http);
        }

        const string message = "The gateway failed to process the request. It has been logged; retry later.";
        return surface is not null
            ? surface.WriteUnexpectedAsync(http, message)
            : TypedResults.Problem(message, statusCode: StatusCodes.Status500InternalServerError).ExecuteAsync(http);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "INSECURE: LlmRouter:AllowDevKeys=true accepts the shipped development admin and tenant keys, which are public. Never use this setting in production.")]
    private static partial void LogDevKeysAllowed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: /readyz answers 503 draining; still serving for {DelaySeconds} s, then draining for up to {TimeoutSeconds} s")]
    private static partial void LogDraining(ILogger logger, int delaySeconds, int timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shutdown did not finish within {Seconds} s; exiting with work still in flight")]
    private static partial void LogShutdownOverrun(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage: in-memory (embedded default). Budgets and usage are lost on restart; configure PostgreSQL for durability.")]
    private static partial void LogStorage(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage: PostgreSQL (grain state and ledger); clustering: {Clustering}; ledger outage mode: {Mode}")]
    private static partial void LogDurable(ILogger logger, string clustering, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration loaded from {Files}: {Providers} providers, {Models} models, {Actions} actions, {Tenants} dev tenants")]
    private static partial void LogConfig(ILogger logger, string files, int providers, int models, int actions, int tenants);

    [LoggerMessage(Level = LogLevel.Information, Message = "Providers live: {Providers}")]
    private static partial void LogProvidersLive(ILogger logger, string providers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Providers disabled ({Count}): {Providers}")]
    private static partial void LogProvidersDisabled(ILogger logger, int count, string providers);

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM router listening on {Url} (OpenAI-compatible: {Url}/v1/chat/completions)")]
    private static partial void LogListening(ILogger logger, string url);

    private sealed record HealthBody(string Status);

    private sealed record ReadyBody(string Status, bool Cluster, bool Storage);
}
