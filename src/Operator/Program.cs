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
    private static async Task<int> Main(string[] args)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        var request = OperatorCommandLine.Parse(args, environment);
        if (Answer(request, Console.Out, Console.Error) is { } code) return code;
        if (request is CommandLineRequest.GenerateCrds generate) return Crds.CrdGenerator.Generate(generate.Output);
        var options = ((CommandLineRequest.Run)request).Options;

        var config = options.Kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig)
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
        builder.WebHost.UseUrls(options.Port > 0 ? $"http://{(options.BindAddress == "0.0.0.0" ? "*" : options.BindAddress)}:{options.Port}" : "http://127.0.0.1:0");
        // Shutdown must finish inside the 30 s a kubelet grants by default.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        builder.Services.AddSingleton(sp => new OperatorHost(client, options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddOperatorHealthChecks(sp => new ReadinessCheck(sp.GetRequiredService<OperatorHost>(), options.ReadinessStallTimeout, TimeProvider.System));
        var app = builder.Build();

        using var host = app.Services.GetRequiredService<OperatorHost>();
        // /healthz: the process answers, never dependent on the API server; /readyz: caches synced
        // and, while leading, the work queues make progress.
        app.MapOperatorHealthChecks();
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
