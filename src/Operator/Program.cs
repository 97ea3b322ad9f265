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
        builder.WebHost.UseUrls(options.Port > 0 ? $"http://{(options.BindAddress == "0.0.0.0" ? "*" : options.BindAddress)}:{options.Port}" : "http://127.0.0.1:0");
        // Shutdown must finish inside the 30 s a kubelet grants by default.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        var app = builder.Build();

        using var client = Kubernetes.ApiClient.Create(config);
        using var host = new OperatorHost(client, options, app.Services.GetRequiredService<ILoggerFactory>());
        // Alive means the process answers; it never depends on the API server.
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => host.CachesSynced ? Results.Text("ok") : Results.Text("caches not synced", statusCode: 503));
        app.UseMetricServer("/metrics");

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        await app.StartAsync();
        var exit = 0;
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
        return exit;
    }
}
