using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Demo;

/// <summary>
/// Figures for the local control plane itself: warm start to /readyz plus a Ready node, the time
/// from a pod being scheduled to it being Ready, and the resident memory of the running processes.
/// </summary>
internal sealed class ClusterBenchmark(string[] args)
{
    private readonly int _starts = Option(args, "--starts", 5);
    private readonly int _pods = Option(args, "--pods", 20);

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        var starts = new List<double>();
        for (var i = 0; i < _starts; i++)
        {
            var sw = Stopwatch.StartNew();
            await using var cluster = await LocalCluster.StartAsync("bench-cluster", loggers, installCrds: false);
            await WaitAsync(async () => (await cluster.Client.CoreV1.ListNodeAsync(cancellationToken: ct)).Items
                .Any(n => n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true), ct);
            starts.Add(sw.Elapsed.TotalSeconds);
            Console.WriteLine($"warm start {i + 1}/{_starts}: {starts[^1]:0.00}s to /readyz and a Ready node");
            if (i == _starts - 1)
            {
                await PodLatencyAsync(cluster.Client, ct);
                Memory(cluster.StateDir);
            }
        }
        starts.Sort();
        Console.WriteLine($"warm start (control plane up, /readyz, a Ready node) over {_starts} runs: " +
                          $"median {starts[starts.Count / 2]:0.00}s, min {starts[0]:0.00}s, max {starts[^1]:0.00}s (target <= 15s)");
        return 0;
    }

    private async Task PodLatencyAsync(IKubernetes c, CancellationToken ct)
    {
        const string ns = "default";
        var scheduled = new ConcurrentDictionary<string, long>();
        var ready = new ConcurrentDictionary<string, long>();
        var clock = Stopwatch.StartNew();
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = Task.Run(async () =>
        {
#pragma warning disable CS0618 // the typed watch helper is what we want here
            var response = c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, watch: true, cancellationToken: watchCts.Token);
            await foreach (var (_, pod) in response.WatchAsync<V1Pod, V1PodList>(null, watchCts.Token))
#pragma warning restore CS0618
            {
                var name = pod.Metadata.Name;
                if (!string.IsNullOrEmpty(pod.Spec?.NodeName)) scheduled.TryAdd(name, clock.ElapsedTicks);
                if (pod.Status?.Conditions?.Any(x => x.Type == "Ready" && x.Status == "True") == true) ready.TryAdd(name, clock.ElapsedTicks);
            }
        }, CancellationToken.None);
        await Task.Delay(500, ct);
        var labels = new Dictionary<string, string> { ["app"] = "latency" };
        await c.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "latency" },
            Spec = new V1DeploymentSpec
            {
                Replicas = _pods,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        Containers = [new V1Container
                        {
                            Name = "app", Image = "sim/app:1", Ports = [new V1ContainerPort { ContainerPort = 8080 }],
                            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = 8080 }, PeriodSeconds = 1 },
                        }],
                    },
                },
            },
        }, ns, cancellationToken: ct);
        await WaitAsync(() => Task.FromResult(ready.Count >= _pods), ct);
        await watchCts.CancelAsync();
        try { await watch; } catch (Exception) { /* the watch ends with the cancellation */ }
        var seconds = ready.Keys.Where(scheduled.ContainsKey)
            .Select(k => (ready[k] - scheduled[k]) / (double)Stopwatch.Frequency).Order().ToList();
        Console.WriteLine($"pod scheduled -> Ready over {seconds.Count} pods (seen through one watch): median {seconds[seconds.Count / 2]:0.000}s, " +
                          $"p95 {seconds[(int)Math.Min(seconds.Count - 1, Math.Ceiling(seconds.Count * 0.95) - 1)]:0.000}s, " +
                          $"max {seconds[^1]:0.000}s (target <= 2s)");
    }

    private static void Memory(string stateDir)
    {
        var pids = Path.Combine(stateDir, "control-plane", "pids");
        if (!File.Exists(pids)) { Console.WriteLine("memory: no pid file"); return; }
        long total = 0;
        var parts = new List<string>();
        foreach (var line in File.ReadAllLines(pids))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2) continue;
            var status = $"/proc/{f[1]}/status";
            if (!File.Exists(status)) continue;
            var rss = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (rss is null) continue;
            var kb = long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            total += kb;
            parts.Add($"{f[0]} {kb / 1024} MiB");
        }
        Console.WriteLine($"resident memory of the running control plane: {total / 1024} MiB ({string.Join(", ", parts)})");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException("timed out");
            await Task.Delay(50, ct);
        }
    }
}
