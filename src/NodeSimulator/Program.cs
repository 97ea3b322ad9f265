using k8s;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.NodeSimulator;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        string? kubeconfig = null;
        var options = new NodeSimulatorOptions();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--kubeconfig" when i + 1 < args.Length: kubeconfig = args[++i]; break;
                case "--nodes" when i + 1 < args.Length: options.Nodes = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--node-prefix" when i + 1 < args.Length: options.NodePrefix = args[++i]; break;
                default:
                    await Console.Error.WriteLineAsync("usage: ResilienceOperator.NodeSimulator --kubeconfig PATH [--nodes 2] [--node-prefix sim-node]");
                    return 2;
            }
        }
        var config = kubeconfig is null
            ? KubernetesClientConfiguration.BuildDefaultConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        using var client = new Kubernetes(config);
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }));
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
        await using var sim = new NodeSimulator(client, options, loggers.CreateLogger("NodeSimulator"));
        await sim.StartAsync(stop.Token);
        Console.WriteLine($"simulating nodes {string.Join(", ", sim.NodeNames)}; Ctrl-C to stop");
        try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
        return 0;
    }
}
