using System.Collections;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Hosting;

namespace ResilienceOperator;

internal static class Program
{
    /// <summary>
    /// Meters not exported on /metrics. The HTTP client's instruments label every series with the
    /// peer's address and port: one set of histograms per probed pod, kept while it is probed —
    /// at 1,000 services 126,000 lines of /metrics and memory that grows with every pod. Probes
    /// have their own metrics (resilience_probes_total, resilience_probe_duration_seconds).
    /// </summary>
    internal static readonly HashSet<string> UnexportedMeters = new(StringComparer.Ordinal) { "System.Net.Http" };

    private static async Task<int> Main(string[] args)
    {
        // Before any metric exists: the adapter starts with the default registry.
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = i => !UnexportedMeters.Contains(i.Meter.Name));
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        var request = OperatorCommandLine.Parse(args, environment);
        if (Answer(request, Console.Out, Console.Error) is { } code) return code;
        if (request is CommandLineRequest.GenerateCrds generate) return Crds.CrdGenerator.Generate(generate.Output);
        var options = ((CommandLineRequest.Run)request).Options;

        var config = options.Kubeconfig is not null ? Kubernetes.Kubeconfig.Load(options.Kubeconfig)
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig();
        using var client = Kubernetes.ApiClient.Create(config);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json") builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.UseUtcTimestamp = true; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = false; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        Admission.WebhookCertificateManager? certificates = null; // made once the host's loggers exist
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            void Listen(int port, Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions>? configure = null)
            {
                if (options.BindAddress == "0.0.0.0") kestrel.ListenAnyIP(port, l => configure?.Invoke(l));
                else kestrel.Listen(System.Net.IPAddress.Parse(options.BindAddress), port, l => configure?.Invoke(l));
            }
            if (options.Port > 0) Listen(options.Port);
            else kestrel.Listen(System.Net.IPAddress.Loopback, 0);
            // The webhook's own port, HTTPS only; the certificate is chosen per handshake, so a renewed one needs no restart.
            if (options.WebhookPort > 0)
                Listen(options.WebhookPort, l => l.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificates?.Current));
        });
        // Shutdown must finish inside the 30 s a kubelet grants by default.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        builder.Services.AddSingleton(sp => new OperatorHost(client, options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddOperatorHealthChecks(sp =>
            new ReadinessCheck(sp.GetRequiredService<OperatorHost>(), options.ReadinessStallTimeout, TimeProvider.System));
        var app = builder.Build();
        if (options.WebhookPort > 0)
            certificates = new Admission.WebhookCertificateManager(client, options, TimeProvider.System,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Webhook"));

        using var host = app.Services.GetRequiredService<OperatorHost>();
        // /healthz: the process answers, never dependent on the API server; /readyz: caches synced
        // and, while leading, the work queues make progress.
        app.MapOperatorHealthChecks();
        if (certificates is not null)
        {
            // On the webhook port only the webhook; the webhook only on its port.
            var webhookPaths = Admission.AdmissionHandler.Paths.Values.ToHashSet(StringComparer.Ordinal);
            app.Use((ctx, next) => (ctx.Connection.LocalPort == options.WebhookPort) == webhookPaths.Contains(ctx.Request.Path.Value ?? "")
                ? next(ctx) : Results.NotFound().ExecuteAsync(ctx));
            foreach (var path in webhookPaths)
                app.MapPost(path, async (HttpRequest request) =>
                    Results.Json(Admission.AdmissionHandler.Review(await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body))));
        }
        // The registry's families, then the per-policy ones kept compactly (Runtime.PolicySeries).
        app.MapGet("/metrics", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = Runtime.PolicySeriesExport.ContentType;
            await Runtime.PolicySeriesExport.WriteAsync(ctx.Response.Body, ctx.RequestAborted);
        });

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        await app.StartAsync();
        var exit = 0;
        // Every replica serves the webhook, leader or not; the certificate is kept apart from the reconcilers.
        var certificateLoop = certificates is null
            ? Task.CompletedTask
            : Task.Run(() => certificates.RunAsync(lifetime.ApplicationStopping), CancellationToken.None);
        try
        {
            await host.RunAsync(lifetime.ApplicationStopping);
        }
        catch (Exception ex)
        {
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ResilienceOperator").LogCritical(ex, "operator stopped");
            exit = 1;
        }
        await app.StopAsync();
        await certificateLoop;
        return exit;
    }

    /// <summary>
    /// The exit code for a request that ends the process at once — help (0), bad arguments or
    /// environment (2: the errors and the usage on stderr) — or null to go on.
    /// </summary>
    internal static int? Answer(CommandLineRequest request, TextWriter stdout, TextWriter stderr)
    {
        switch (request)
        {
            case CommandLineRequest.Print print:
                stdout.Write(print.Text);
                return 0;
            case CommandLineRequest.Invalid invalid:
                foreach (var error in invalid.Errors) stderr.WriteLine("error: " + error);
                stderr.WriteLine();
                stderr.Write(invalid.Usage);
                return 2;
            default:
                return null;
        }
    }
}
