using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "generate") return Crds.CrdGenerator.Run(args);
        if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine(OperatorOptions.Usage); return 0; }
        OperatorOptions options;
        try { options = OperatorOptions.Parse(args); }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync(ex.Message + Environment.NewLine + OperatorOptions.Usage);
            return 2;
        }

        var config = options.Kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig)
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json") builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.UseUtcTimestamp = true; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = false; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        using var client = Kubernetes.ApiClient.Create(config);
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
        var app = builder.Build();
        if (options.WebhookPort > 0)
            certificates = new Admission.WebhookCertificateManager(client, options, TimeProvider.System, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Webhook"));

        using var host = new OperatorHost(client, options, app.Services.GetRequiredService<ILoggerFactory>());
        // Alive means the process answers; it never depends on the API server.
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => host.CachesSynced ? Results.Text("ok") : Results.Text("caches not synced", statusCode: 503));
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
        app.UseMetricServer("/metrics");

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        await app.StartAsync();
        var exit = 0;
        // Every replica serves the webhook, leader or not; the certificate is kept apart from the reconcilers.
        var certificateLoop = certificates is null ? Task.CompletedTask : Task.Run(() => certificates.RunAsync(lifetime.ApplicationStopping), CancellationToken.None);
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
}
