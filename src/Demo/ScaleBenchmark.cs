using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Demo;

/// <summary>
/// The operator at scale, run the way users run it: its own process (published as the image is, or
/// <c>--operator PATH.dll</c>) against the local control plane, with N distinct applications
/// (primary, cold or warm standby, Service, ResiliencePolicy) spread over namespaces. Prints the
/// time to synced caches and to all policies Ready, the process's resident memory, API traffic by
/// client (from the API server's audit log), probe lag and one failover among N watched policies.
/// Figures only: it fails (exit 1) only when a phase does not finish within its deadline.
/// </summary>
internal sealed partial class ScaleBenchmark(string[] args)
{
    private const string DemoUserAgent = "resilience-demo";
    private const string FaultAnnotation = "sim.resilience.dev/fault";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly int _policies = IntOption(args, "--policies", 100);
    private readonly int _namespaces = IntOption(args, "--namespaces", 10);
    private readonly string _interval = TextOption(args, "--interval") ?? "10s";
    private readonly string? _operator = TextOption(args, "--operator");
    private readonly int _restSeconds = IntOption(args, "--rest-seconds", 60);
    private readonly int _inFlight = IntOption(args, "--in-flight", 32);
    private readonly int _faults = IntOption(args, "--faults", 3);

    private readonly List<(string Figure, Func<string> Value)> _table = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private static int IntOption(string[] args, string name, int fallback) =>
        TextOption(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private static string? TextOption(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>A phase that did not finish: the benchmark stops with this message and exit code 1.</summary>
    private sealed class PhaseTimeoutException(string message) : Exception(message);

    public async Task<int> RunAsync(CancellationToken outer)
    {
        if (_policies < 1 || _namespaces < 1 || _inFlight < 1)
        {
            Console.Error.WriteLine("bench-scale: --policies, --namespaces and --in-flight must be at least 1");
            return 2;
        }
        if (ParseDuration(_interval) is not { } interval)
        {
            Console.Error.WriteLine($"bench-scale: --interval {_interval} is not a duration like 10s, 500ms or 1m");
            return 2;
        }
        var dll = _operator ?? await PublishAsImageAsync(outer);
        if (dll is null || !File.Exists(dll)) { Console.Error.WriteLine($"bench-scale: {dll ?? "the published operator"} not found"); return 2; }

        // SIGTERM and SIGHUP end the run like Ctrl-C does, so everything started is stopped.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; cts.Cancel(); });
        var ct = cts.Token;

        var work = Path.Combine(Path.GetTempPath(), $"resilience-bench-scale-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var logFile = Path.Combine(work, "demo.log");
        var audit = new AuditLog(Path.Combine(work, "audit.log"));
        PrintMachine(dll, interval);
        var result = 1;
        try
        {
            return result = await RunPhasesAsync(dll, interval, work, logFile, audit, ct);
        }
        catch (PhaseTimeoutException e)
        {
            Console.Error.WriteLine($"bench-scale FAILED at {_clock.Elapsed.TotalSeconds:0}s: {e.Message}");
            Console.Error.WriteLine($"  logs kept in {work}");
            PrintTable();
            return 1;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"bench-scale interrupted; stopped everything it started (logs kept in {work})");
            return 130;
        }
        finally
        {
            // The audit log grows with every request: kept only for a failed run. The other logs are small.
            if (result == 0) try { File.Delete(audit.Path); } catch (IOException) { }
        }
    }

    private async Task<int> RunPhasesAsync(string dll, TimeSpan interval, string work, string logFile, AuditLog audit, CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(logFile)).SetMinimumLevel(LogLevel.Warning));
        // The API server's audit log tells clients apart by user agent: apiserver_request_total in 1.20 has no client label.
        var policyFile = Path.Combine(work, "audit-policy.yaml");
        await File.WriteAllTextAsync(policyFile, """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitStages: ["RequestReceived"]
            rules:
            - level: None
              verbs: ["get"]
            - level: Request
              verbs: ["patch", "update"]
              resources: [{group: "resilience.dev", resources: ["resiliencepolicies/status"]}]
            - level: Metadata
            """, ct);
        var previousArgs = Environment.GetEnvironmentVariable("RESILIENCE_APISERVER_ARGS");
        Environment.SetEnvironmentVariable("RESILIENCE_APISERVER_ARGS",
            $"{previousArgs} --audit-policy-file {policyFile} --audit-log-path {audit.Path} --audit-log-maxsize 1000000 --audit-log-mode blocking".Trim());

        Phase("starting the local control plane and the node simulator");
        var sw = Stopwatch.StartNew();
        LocalCluster cluster;
        // A simulated node holds 1,000 pods: one per 600 apps (a primary each, a warm standby for half), and one spare.
        try { cluster = await LocalCluster.StartAsync("bench-scale", loggers, userAgent: DemoUserAgent, nodes: 2 + _policies / 600); }
        finally { Environment.SetEnvironmentVariable("RESILIENCE_APISERVER_ARGS", previousArgs); }
        await using var _ = cluster;
        Console.WriteLine($"  up in {sw.Elapsed.TotalSeconds:0.0}s; kubeconfig {cluster.Kubeconfig}; logs in {work}");
        var c = cluster.Client;

        Phase($"creating {_policies} apps in {_namespaces} namespaces, {_inFlight} in flight");
        sw.Restart();
        await CreateAppsAsync(c, ct);
        var createSeconds = sw.Elapsed.TotalSeconds;
        Row("apps created (4 objects each)", $"{_policies} in {createSeconds:0.0}s ({_policies * 4 / createSeconds:0} objects/s, {_inFlight} apps in flight)");

        Phase("waiting for every Deployment's pods to be ready (before the operator starts)");
        sw.Restart();
        await DeploymentsReadyAsync(c, Deadline(TimeSpan.FromMinutes(5), 1.0), ct);
        Row("Deployments ready (before operator start)", $"{sw.Elapsed.TotalSeconds:0.0}s after the last create");
        Row("control plane settled (before operator start)", await ControlPlaneSettledAsync(ct));

        await using var sampler = new Sampler();
        var startMark = AuditLog.Mark();
        var op = OperatorProcess.Start(dll, cluster.Kubeconfig, Path.Combine(work, "operator-1.log"));
        await using var opGuard = new Stopper(() => op);
        sampler.Watch(op);
        Phase($"operator started (pid {op.Pid}, port {op.Port}); waiting for /readyz");
        // Polled every 50 ms: a poll a second made the figure up to a second late.
        var synced = await WaitAsync(op.ReadyAsync, Deadline(TimeSpan.FromMinutes(2), 0.3), "operator start -> /readyz (caches synced)", op, ct,
            pollMs: ReadyPollMs);
        var syncedMark = AuditLog.Mark();
        sampler.Mark("synced");
        Row("operator start -> caches synced (/readyz 200)", $"{synced.TotalSeconds:0.00}s (polled every {ReadyPollMs}ms)");

        Phase("waiting for every policy to be Ready=True");
        var ready = await WaitAsync(async () => (await CountPoliciesAsync(c, "Ready", "True", ct)) == _policies,
            Deadline(TimeSpan.FromMinutes(5), 1.0), $"operator start -> all {_policies} policies Ready=True", op, ct, synced, PolicyPollMs);
        var readyMark = AuditLog.Mark();
        sampler.Mark("all Ready");
        Row("operator start -> all policies Ready=True",
            $"{(synced + ready).TotalSeconds:0.00}s (polled every {PolicyPollMs / 1000.0:0.#}s; {ready.TotalSeconds:0.00}s after synced)");
        var metrics = await op.MetricsAsync();
        QueueRows(metrics, "at all Ready");
        Row("  reconciles so far",
            Sum(metrics, "controller_runtime_reconcile_total") is { } rec ? rec.ToString("0", CultureInfo.InvariantCulture) : "not exported");
        Row("operator LIST / WATCH / writes, start -> all Ready", () =>
        {
            var startup = audit.Count(startMark, readyMark);
            return $"{startup.Operator("list")} / {startup.Operator("watch")} / {startup.OperatorWrites()}{startup.OperatorBreakdown(" writes: ")}";
        });

        Phase("waiting for every policy to serve from its primary (FailedOver=False), then a quiet window");
        await WaitAsync(async () => (await CountPoliciesAsync(c, "FailedOver", "False", ct)) == _policies,
            Deadline(TimeSpan.FromMinutes(3), 0.5), "all policies on their primary (FailedOver=False)", op, ct, pollMs: PolicyPollMs);
        await Task.Delay(TimeSpan.FromSeconds(5), ct); // the last status writes land
        var restStart = AuditLog.Mark();
        var apiBefore = await ApiServerWritesAsync(cluster, ct);
        var restStartMetrics = await op.MetricsAsync();
        var selfBefore = Sum(restStartMetrics, "resilience_api_writes_total");
        sampler.Mark("rest start");
        var cpuBefore = CpuByProgram(op.Pid);
        var lags = new List<double>();
        var lagsFromRequest = new List<double>();
        var scrapes = new List<double>();
        var (inFlight, poolQueue) = (new List<double>(), new List<double>());
        var lagExported = true;
        var restClock = Stopwatch.StartNew();
        while (restClock.Elapsed < TimeSpan.FromSeconds(_restSeconds))
        {
            var (m, sent, received) = await op.TimedMetricsAsync();
            var last = m.Where(s => s.Name == "resilience_health_check_last_timestamp_seconds").ToList();
            if (m.Count > 0 && last.Count == 0) lagExported = false;
            // The response's arrival, not the end of this benchmark's own parse of it: each value was
            // read between the request and the response, so the lag is at most this.
            lags.AddRange(last.Select(s => received - s.Value));
            lagsFromRequest.AddRange(last.Select(s => sent - s.Value));
            if (last.Count > 0) scrapes.Add(received - sent);
            if (Sum(m, "resilience_health_checks_in_flight") is { } running) inFlight.Add(running);
            if (m.Where(s => s.Name.StartsWith("system_runtime_dotnet_thread_pool_queue_length", StringComparison.Ordinal)).ToList() is { Count: > 0 } queue)
                poolQueue.Add(queue.Sum(s => s.Value));
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
        }
        var restMinutes = restClock.Elapsed.TotalMinutes;
        var cpuAtRest = CpuBetween(cpuBefore, CpuByProgram(op.Pid), restClock.Elapsed.TotalSeconds);
        var restEnd = AuditLog.Mark();
        sampler.Mark("rest end");
        var apiAfter = await ApiServerWritesAsync(cluster, ct);
        var restMetrics = await op.MetricsAsync();
        var selfAfter = Sum(restMetrics, "resilience_api_writes_total");
        Row($"API writes/min at rest, operator ({restClock.Elapsed.TotalSeconds:0}s window)", () =>
        {
            var rest = audit.Count(restStart, restEnd);
            return $"{rest.OperatorWrites() / restMinutes:0.0} (audit log){rest.OperatorBreakdown(" ")}; " +
                $"self-reported resilience_api_writes_total {Delta(selfBefore, selfAfter, restMinutes)}";
        });
        Row("  what those writes recorded (request bodies)", () => Recorded(audit.Bodies(restStart, restEnd)));
        Row("  failed probes in the window", FailedProbesBetween(restStartMetrics, restMetrics));
        Row("  failed probes, first process (start -> end of the window)", ProbeFailures(restMetrics));
        Row("  same window, other clients (audit log)", () => audit.Count(restStart, restEnd).OthersWrites(restMinutes));
        Row("  same window, all clients (apiserver_request_total)", apiBefore is null || apiAfter is null ? "unavailable"
            : $"{(apiAfter.Value - apiBefore.Value) / restMinutes:0.0}/min " +
                "(POST/PUT/PATCH/DELETE/APPLY, every client incl. node simulator and controller-manager)");
        var restSeconds = restClock.Elapsed.TotalSeconds;
        Row("operator LIST / WATCH at rest", () =>
        {
            var rest = audit.Count(restStart, restEnd);
            return $"{rest.Operator("list")} / {rest.Operator("watch")} in {restSeconds:0}s";
        });
        Row("  work queue depth at rest", Depths(restMetrics));
        Row("  work queue waits at rest (items queued in the window)", QueueWaitsBetween(restStartMetrics, restMetrics));
        Row("  health checks started late at rest (after their due time)", CheckStartDelaysBetween(restStartMetrics, restMetrics));
        Row("  probe durations at rest (the wait for a probe slot included)", ProbeDurationsBetween(restStartMetrics, restMetrics));
        Row("  what held checks back at rest", CheckLimitsBetween(restStartMetrics, restMetrics, inFlight, poolQueue));
        Row("  CPU used in the window, by program", cpuAtRest);
        Row("  heap compactions once quiet (before / after the window)", $"{Compactions(restStartMetrics)} / {Compactions(restMetrics)}");
        Row("  garbage collection pauses (before / in the window)", $"{GcPauses(restStartMetrics)} / {GcPauses(restMetrics, restStartMetrics)}");
        Row("probe lag (now - last check) at rest", !lagExported ? "not exported" : lags.Count == 0 ? "no samples" :
            $"p50 {Percentile(lags, 50):0.00}s, p99 {Percentile(lags, 99):0.00}s, max {lags.Max():0.00}s over {lags.Count} samples " +
            $"(interval {_interval}; from resilience_health_check_last_timestamp_seconds, against the response's arrival; " +
            $"against the request's start, which no value was read before: p99 {Percentile(lagsFromRequest, 99):0.00}s, " +
            $"max {lagsFromRequest.Max():0.00}s; a /metrics request took p50 {Percentile(scrapes, 50):0.00}s, " +
            $"max {scrapes.DefaultIfEmpty().Max():0.00}s)");
        var (peak1, restRss) = (sampler.PeakKb(op.Pid), sampler.MedianKb(op.Pid, "rest start", "rest end"));
        var (peakAnon1, restAnon) = (sampler.PeakKb(op.Pid, anon: true), sampler.MedianKb(op.Pid, "rest start", "rest end", anon: true));

        Phase("restarting the operator: SIGTERM, start again, wait for /readyz, count for 60s");
        sw.Restart();
        var exited = await op.TerminateAsync();
        Row("operator SIGTERM -> exit", exited ? $"{sw.Elapsed.TotalSeconds:0.00}s" : $"did not exit within 30s (killed)");
        // Replayed once the last operator process has stopped, not here: serving them leaves the API
        // server with hundreds of MiB of garbage, which the restarted operator's LISTs would pay for.
        var listFloor = "not measured";
        Row("  the API server alone: the start's LISTs replayed (after the last operator stopped)", () => listFloor);
        var restartMark = AuditLog.Mark();
        op = OperatorProcess.Start(dll, cluster.Kubeconfig, Path.Combine(work, "operator-2.log"));
        sampler.Watch(op);
        var synced2 = await WaitAsync(op.ReadyAsync, Deadline(TimeSpan.FromMinutes(2), 0.3), "restarted operator -> /readyz", op, ct,
            pollMs: ReadyPollMs);
        var synced2Mark = AuditLog.Mark();
        sampler.Mark("restart synced");
        Row("restarted operator start -> caches synced", $"{synced2.TotalSeconds:0.00}s (polled every {ReadyPollMs}ms)");
        await Task.Delay(TimeSpan.FromSeconds(60), ct);
        var restartEnd = AuditLog.Mark();
        sampler.Mark("restart +60s");
        var restartMetrics = await op.MetricsAsync();
        var selfRestart = Sum(restartMetrics, "resilience_api_writes_total");
        Row("API writes in the first minute after restart, operator", () =>
        {
            var (beforeSync, afterSync) = (audit.Count(restartMark, synced2Mark), audit.Count(synced2Mark, restartEnd));
            return $"{afterSync.OperatorWrites()} in 60s after synced (audit log){afterSync.OperatorBreakdown(" ")}; " +
                   $"{beforeSync.OperatorWrites()} before synced; self-reported since start " +
                   $"{(selfRestart is { } s2 ? s2.ToString("0", CultureInfo.InvariantCulture) : "not exported")}";
        });
        Row("  what those writes recorded (request bodies)", () => Recorded(audit.Bodies(synced2Mark, restartEnd)));
        Row("  failed probes, restarted process (start -> synced + 60s)", ProbeFailures(restartMetrics));
        Row("  health checks started late, restarted process (start -> synced + 60s)", CheckStartDelaysBetween([], restartMetrics));
        Row("  heap compactions once quiet, restarted process", Compactions(restartMetrics));
        var transitions = await TransitionsSinceAsync(c, restartMark, ct);
        Row("conditions changed in the first minute after restart", transitions.Count == 0 ? "none"
            : $"{transitions.Count}: {string.Join("; ", transitions.Take(5))}{(transitions.Count > 5 ? "; ..." : "")}");
        Row("operator LIST / WATCH after restart", () =>
        {
            var all = audit.Count(restartMark, restartEnd);
            return $"{all.Operator("list")} / {all.Operator("watch")} (start -> synced + 60s)";
        });

        // Odd indexes have a warm standby; with one policy only, its cold standby.
        int[] apps = _policies > 1 ? [.. Enumerable.Range(0, _faults).Select(i => 2 * i + 1).Where(a => a < _policies)] : [0];
        var switches = new List<double>();
        Row($"fault -> Service switch at the worst phase (of N; {apps.Length} faults, one after another)", () => switches.Count == 0
            ? "no fault switched"
            : $"max {switches.Max():0.00}s, median {Percentile(switches, 50):0.00}s from the passing probe (interval {_interval}, " +
              "retries 2, timeout 1s; each fault patched right after a passing probe, so the first failing check is a whole " +
              "interval away; Service polled every 25ms)");
        foreach (var app in apps)
        {
            var (ns, name) = (Namespace(app), AppName(app));
            Phase($"fault: {ns}/{name}-primary answers its health checks with errors (http-fail) right after a passing probe, " +
                  $"while all {_policies} policies are watched");
            var (faultMark, sincePassed) = await FaultAfterPassingProbeAsync(cluster, ns, name, interval, ct);
            var switchAt = await WaitAsync(async () => (await c.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct))
                    .Spec.Selector?.TryGetValue("app", out var a) == true && a == $"{name}-standby",
                interval * 4 + TimeSpan.FromSeconds(60), $"fault -> Service {ns}/{name} selects {name}-standby", op, ct, pollMs: 25);
            sampler.Mark("fault switched");
            switches.Add((switchAt + sincePassed).TotalSeconds);
            Row($"  {ns}/{name}: fault -> switch", $"{switchAt.TotalSeconds:0.00}s after the patch returned, " +
                $"{(switchAt + sincePassed).TotalSeconds:0.00}s after the passing probe ({(app % 2 == 1 ? "warm" : "cold")} standby; " +
                $"the patch returned {sincePassed.TotalMilliseconds:0}ms after that probe)");
            Row("    the operator's writes to that policy and Service, after the fault (audit log)", () =>
                audit.Writes(faultMark, new HashSet<string> { $"{ns}/{name}" }) is { Count: > 0 } writes ? string.Join("; ", writes) : "none");
        }

        var (peak2, peakAnon2) = (sampler.PeakKb(op.Pid), sampler.PeakKb(op.Pid, anon: true));
        Row("operator RSS (VmRSS, sampled every 1s)",
            $"peak {peak1 / 1024.0:0} MiB (start -> rest), at rest {restRss / 1024.0:0} MiB (median of the quiet window); " +
            $"restarted process peak {peak2 / 1024.0:0} MiB");
        Row("  of which anonymous (RssAnon; the rest is mapped DLLs)",
            $"peak {peakAnon1 / 1024.0:0} MiB, at rest {restAnon / 1024.0:0} MiB; restarted process peak {peakAnon2 / 1024.0:0} MiB");
        Row("operator managed memory over time (/metrics)", "");
        foreach (var line in sampler.HeapSamples(10)) Row("", line);
        // The API server logs a quiet watch only when it ends: stop the operator before reading the audit log.
        await op.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        listFloor = await ListFloorAsync(c, audit.ListUris(startMark, syncedMark), ct);
        PrintTable();
        Console.WriteLine();
        var agents = audit.Count(startMark, DateTime.MaxValue).OperatorAgents.Select(a => a.Length == 0 ? "(empty)" : a);
        Console.WriteLine("audit log: requests counted by the time the API server received them; " +
                          "the operator's are those whose user agent names none of kube-controller-manager, " +
                          $"kube-scheduler, kube-apiserver, kubectl, {DemoUserAgent} (this benchmark and its node simulator): {string.Join(", ", agents)}");
        Console.WriteLine($"load average at the end: {LoadAverage()} (machine shared with other work)");
        Phase("stopping the node simulator and the control plane");
        return 0;
    }

    // ---------------------------------------------------------------- workload

    private string Namespace(int app) => $"scale-{app % _namespaces:00}";
    private static string AppName(int app) => $"app-{app:00000}";

    private async Task CreateAppsAsync(IKubernetes c, CancellationToken ct)
    {
        for (var n = 0; n < Math.Min(_namespaces, _policies); n++)
            await Retry(() => c.CoreV1.CreateNamespaceAsync(
                new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace(n) } }, cancellationToken: ct), ct);
        var done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, _policies),
            new ParallelOptions { MaxDegreeOfParallelism = _inFlight, CancellationToken = ct }, async (i, token) =>
        {
            var (ns, name, warm) = (Namespace(i), AppName(i), i % 2 == 1);
            await Retry(() => c.AppsV1.CreateNamespacedDeploymentAsync(Deployment($"{name}-primary", 1), ns, cancellationToken: token), token);
            await Retry(() => c.AppsV1.CreateNamespacedDeploymentAsync(Deployment($"{name}-standby", warm ? 1 : 0), ns, cancellationToken: token), token);
            await Retry(() => c.CoreV1.CreateNamespacedServiceAsync(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = name },
                Spec = new V1ServiceSpec
                {
                    Selector = new Dictionary<string, string> { ["app"] = $"{name}-primary" },
                    Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
                },
            }, ns, cancellationToken: token), token);
            await Retry(() => c.CustomObjects.CreateNamespacedCustomObjectAsync(new ResiliencePolicy
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                Spec = new ResiliencePolicySpec
                {
                    Targets = [new TargetSpec { Name = $"{name}-primary", Priority = 0 }, new TargetSpec { Name = $"{name}-standby", Priority = 10 }],
                    Service = new ServiceReference { Name = name },
                    Redundancy = warm ? null : new RedundancySpec { StandbyReplicas = 0 },
                    HealthCheck = new HealthCheckSpec
                    {
                        Interval = _interval, Timeout = "1s", Retries = 2, Http = new HttpProbeSpec { Path = "/healthz", Port = 8080 },
                    },
                    Failover = new FailoverSpec { FailbackDelay = "30s" },
                },
            }, GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName, cancellationToken: token), token);
            if (Interlocked.Increment(ref done) % Math.Max(1, _policies / 10) == 0) Console.Write($"\r  {done}/{_policies} apps created ");
        });
        Console.WriteLine();
    }

    private static V1Deployment Deployment(string name, int replicas)
    {
        var labels = new Dictionary<string, string> { ["app"] = name };
        return new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["bench"] = "scale" } },
            Spec = new V1DeploymentSpec
            {
                Replicas = replicas,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container { Name = "app", Image = "sim/app:1", Ports = [new V1ContainerPort { ContainerPort = 8080 }] },
                        ],
                    },
                },
            },
        };
    }

    /// <summary>A create under load: an answer of 409 (already there, from an attempt that timed out) counts as done.</summary>
    private static async Task Retry(Func<Task> create, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { await create(); return; }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { return; }
            catch (Exception e) when (attempt < 5
                && e is HttpOperationException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
            }
        }
    }

    private async Task DeploymentsReadyAsync(IKubernetes c, TimeSpan deadline, CancellationToken ct)
    {
        var pods = _policies + (_policies / 2);
        await WaitAsync(async () =>
        {
            var list = await c.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: "bench=scale", cancellationToken: ct);
            var notReady = list.Items.Count(d => (d.Status?.ReadyReplicas ?? 0) != (d.Spec.Replicas ?? 1));
            return list.Items.Count == 2 * _policies && notReady == 0;
        }, deadline, $"all {2 * _policies} Deployments ready ({pods} pods)", null, ct, pollMs: PolicyPollMs);
    }

    private static async Task<int> CountPoliciesAsync(IKubernetes c, string type, string status, CancellationToken ct)
    {
        var list = KubernetesJson.Deserialize<ResiliencePolicyList>((JsonElement)await c.CustomObjects.ListClusterCustomObjectAsync(
            GroupVersion.Group, GroupVersion.Version, ResiliencePolicy.KubePluralName, cancellationToken: ct));
        return list.Items.Count(p => p.Status?.Conditions?.Any(x => x.Type == type && x.Status == status) == true);
    }

    /// <summary>
    /// The policy conditions that changed since <paramref name="since"/> (by their lastTransitionTime),
    /// as "namespace/name Type=Status Reason: message": what a status write after a restart changed, and why.
    /// </summary>
    private static async Task<List<string>> TransitionsSinceAsync(IKubernetes c, DateTime since, CancellationToken ct)
    {
        var list = KubernetesJson.Deserialize<ResiliencePolicyList>((JsonElement)await c.CustomObjects.ListClusterCustomObjectAsync(
            GroupVersion.Group, GroupVersion.Version, ResiliencePolicy.KubePluralName, cancellationToken: ct));
        return [.. list.Items.SelectMany(p => (p.Status?.Conditions ?? []).Where(x => x.LastTransitionTime >= since)
            .Select(x => $"{p.Metadata.NamespaceProperty}/{p.Metadata.Name} {x.Type}={x.Status} {x.Reason}: {x.Message}"))];
    }

    /// <summary>
    /// Waits until the control plane has worked off the creates: the Deployments are ready before their
    /// controllers, the scheduler, the simulator and the API server's own collector are done, and a first
    /// start measured meanwhile shares the two cores with them, which no restart does. Settled is the
    /// machine at most <see cref="SettledBusyShare"/> busy (all cores, from /proc/stat) over
    /// <see cref="SettleWindow"/>; gives up after 3 minutes and says so.
    /// </summary>
    private static async Task<string> ControlPlaneSettledAsync(CancellationToken ct)
    {
        if (!File.Exists("/proc/stat")) return "not measured: no /proc/stat";
        var clock = Stopwatch.StartNew();
        var windows = new List<double>();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            var (busy0, all0) = CpuJiffies();
            await Task.Delay(SettleWindow, ct);
            var (busy1, all1) = CpuJiffies();
            windows.Add(all1 > all0 ? (double)(busy1 - busy0) / (all1 - all0) : 0);
            if (windows[^1] <= SettledBusyShare) break;
        }
        var settled = windows[^1] <= SettledBusyShare;
        var seen = $"machine busy in each {SettleWindow.TotalSeconds:0}s window: " +
            string.Join(", ", windows.Select(w => w.ToString("0%", CultureInfo.InvariantCulture)));
        return (settled ? $"after {clock.Elapsed.TotalSeconds:0}s" : $"NOT settled in {clock.Elapsed.TotalSeconds:0}s") +
            $" ({seen}; load average {LoadAverage()})";
    }

    private const double SettledBusyShare = 0.25;
    private static readonly TimeSpan SettleWindow = TimeSpan.FromSeconds(5);

    /// <summary>
    /// CPU time used so far by each program of the machine (by its command name, summed over its processes; the operator and
    /// this benchmark by role, as both are 'dotnet'), in clock ticks.
    /// </summary>
    private static Dictionary<string, long> CpuByProgram(int operatorPid)
    {
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; } // the process ended meanwhile
            catch (UnauthorizedAccessException) { continue; }
            // pid (comm) state ...: the name may hold spaces or parentheses, so it ends at the last ')'.
            var (open, close) = (stat.IndexOf('(', StringComparison.Ordinal), stat.LastIndexOf(')'));
            if (open < 0 || close < open) continue;
            var fields = stat[(close + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state.
            if (fields.Length < 13 || !long.TryParse(fields[11], CultureInfo.InvariantCulture, out var user)
                || !long.TryParse(fields[12], CultureInfo.InvariantCulture, out var system)) continue;
            var name = pid == operatorPid ? "operator" : pid == Environment.ProcessId ? "benchmark+simulator" : stat[(open + 1)..close];
            ticks[name] = ticks.GetValueOrDefault(name) + user + system;
        }
        return ticks;
    }

    /// <summary>The programs that used the most CPU between two <see cref="CpuByProgram"/> readings, as a share of one core.</summary>
    private static string CpuBetween(Dictionary<string, long> before, Dictionary<string, long> after, double seconds)
    {
        const double ticksPerSecond = 100; // USER_HZ on Linux
        var used = after.Select(kv => (Name: kv.Key, Share: (kv.Value - before.GetValueOrDefault(kv.Key)) / ticksPerSecond / seconds))
            .Where(x => x.Share >= 0.01).OrderByDescending(x => x.Share).Take(6).ToList();
        return used.Count == 0 ? "none measured"
            : string.Join(", ", used.Select(x => $"{x.Name} {x.Share * 100:0}%")) + $" of one core ({Environment.ProcessorCount} cores in all)";
    }

    /// <summary>The machine's busy and total CPU time so far (the first line of /proc/stat; idle and iowait are not busy).</summary>
    private static (long Busy, long All) CpuJiffies()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var all = fields.Sum();
        return (all - fields[3] - fields[4], all);
    }

    /// <summary>Sum of apiserver_request_total over the write verbs, every client; null when /metrics cannot be read.</summary>
    private static async Task<double?> ApiServerWritesAsync(LocalCluster cluster, CancellationToken ct)
    {
        var (code, text) = await cluster.KubectlAsync("get", "--raw", "/metrics");
        ct.ThrowIfCancellationRequested();
        if (code != 0) return null;
        return PromText.Parse(text).Where(s => s.Name == "apiserver_request_total"
                && s.Labels.GetValueOrDefault("verb") is "POST" or "PUT" or "PATCH" or "DELETE" or "APPLY" or "DELETECOLLECTION")
            .Sum(s => s.Value);
    }

    // ---------------------------------------------------------------- waiting and phases

    /// <summary>A phase deadline: a base plus a share per policy, generous (N=1000 at 1 s per policy gets about 17 min).</summary>
    /// <summary>
    /// How often the policies are listed while waiting for them: every second up to 2,000, less often
    /// past that (a LIST of 10,000 policies is ~30 MB the API server serializes, on the operator's cores).
    /// </summary>
    private int PolicyPollMs => Math.Max(1000, _policies / 2);

    private TimeSpan Deadline(TimeSpan baseline, double secondsPerPolicy) => baseline + TimeSpan.FromSeconds(secondsPerPolicy * _policies);

    /// <summary>How often /readyz is asked while the caches sync.</summary>
    private const int ReadyPollMs = 50;

    /// <summary>
    /// Faults the app's primary (http-fail) at the worst phase for detection: as soon as it has answered a probe with a
    /// pass, so its next check, which is the first to fail, is a whole interval away. Returns when the patch was sent
    /// (for the audit log) and how long after the passing answer the patch returned.
    /// </summary>
    private static async Task<(DateTime Sent, TimeSpan SincePassed)> FaultAfterPassingProbeAsync(LocalCluster cluster, string ns, string name,
        TimeSpan interval, CancellationToken ct)
    {
        var passed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAnswered(string podNs, string pod, bool failing)
        {
            if (!failing && podNs == ns && pod.StartsWith($"{name}-primary-", StringComparison.Ordinal)) passed.TrySetResult(Stopwatch.GetTimestamp());
        }
        cluster.Simulator.Answered += OnAnswered;
        long at;
        try { at = await passed.Task.WaitAsync(interval * 2 + TimeSpan.FromSeconds(30), ct); }
        catch (TimeoutException) { throw new PhaseTimeoutException($"no probe of {ns}/{name}-primary within {(interval * 2).TotalSeconds + 30:0}s"); }
        finally { cluster.Simulator.Answered -= OnAnswered; }
        var sent = AuditLog.Mark();
        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"" + FaultAnnotation + "\":\"http-fail\"}}}", V1Patch.PatchType.MergePatch),
            $"{name}-primary", ns, cancellationToken: ct);
        return (sent, Stopwatch.GetElapsedTime(at));
    }

    private static async Task<TimeSpan> WaitAsync(Func<Task<bool>> condition, TimeSpan deadline, string phase, OperatorProcess? op, CancellationToken ct,
        TimeSpan? already = null, int pollMs = 1000)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var ok = false;
            try { ok = await condition(); }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested) { }
            if (ok) return sw.Elapsed;
            if (op is { HasExited: true }) throw new PhaseTimeoutException($"phase '{phase}': the operator exited with code {op.ExitCode} (log: {op.LogFile})");
            if (sw.Elapsed > deadline)
                throw new PhaseTimeoutException($"phase '{phase}' did not finish within {deadline.TotalSeconds:0}s" +
                    (already is { } a ? $" (after {a.TotalSeconds:0}s before it)" : ""));
            await Task.Delay(pollMs, ct);
        }
    }

    private void Phase(string text) => Console.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:0.0}s] {text}");

    private void Row(string figure, string value) => _table.Add((figure, () => value));

    /// <summary>A figure from the audit log, read when the table is printed: after the operator processes ended, so their watches are logged too.</summary>
    private void Row(string figure, Func<string> value) => _table.Add((figure, value));

    private void PrintTable()
    {
        if (_table.Count == 0) return;
        var width = Math.Min(60, _table.Max(r => r.Figure.Length));
        Console.WriteLine();
        Console.WriteLine($"bench-scale results: {_policies} policies in {_namespaces} namespaces, interval {_interval}");
        Console.WriteLine(new string('-', width + 40));
        foreach (var (figure, value) in _table)
        {
            string text;
            try { text = value(); }
            catch (Exception e) when (e is IOException or JsonException or FormatException) { text = $"unavailable ({e.Message})"; }
            Console.WriteLine($"{figure.PadRight(width)}  {text}");
        }
        Console.WriteLine(new string('-', width + 40));
    }

    private void PrintMachine(string dll, TimeSpan interval)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Trim()
            : null;
        var memKb = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            : null;
        var ram = memKb is null ? "?"
            : $"{long.Parse(memKb.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1048576.0:0.0} GiB";
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                ?.Split('=', 2)[1].Trim('"')
            : null;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({cpu ?? "?"}), {ram} RAM, " +
                          $"{os ?? RuntimeInformation.OSDescription}, " +
                          $"kernel {(File.Exists("/proc/sys/kernel/osrelease")
                              ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?")}, " +
                          $".NET {Environment.Version}; load average {LoadAverage()}");
        Console.WriteLine($"parameters: --policies {_policies} --namespaces {_namespaces} --interval {_interval} " +
                          $"({interval.TotalSeconds:0.###}s) --rest-seconds {_restSeconds} --in-flight {_inFlight} --faults {_faults}; " +
                          "half cold standbys (0 replicas), half warm (1); health check http /healthz, timeout 1s, retries 2; " +
                          $"operator {dll} (--workers default, leader election off; " +
                          $"runtime settings of the image: {string.Join(" ", OperatorProcess.ImageRuntimeSettings().Select(g => g.Name + "=" + g.Value))}" +
                          (InheritedRuntimeSettings() is { Length: > 0 } inherited ? $"; from this environment, over the image's: {inherited}" : "") + ")");
    }

    /// <summary>
    /// The runtime's DOTNET_ settings (GCgen0size, TieredPGO…: mixed case, unlike the host's and the
    /// SDK's DOTNET_ROOT, DOTNET_NOLOGO…) and glibc's MALLOC_ settings set where the benchmark runs:
    /// the operator inherits them.
    /// </summary>
    private static string InheritedRuntimeSettings() =>
        string.Join(" ", Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => (k.StartsWith("DOTNET_", StringComparison.Ordinal) && k["DOTNET_".Length..].Any(char.IsLower))
                || k.StartsWith("MALLOC_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(k => k + "=" + Environment.GetEnvironmentVariable(k)));

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    [GeneratedRegex(@"^(?:([0-9]+(?:\.[0-9]+)?)(ms|s|m|h))+$")]
    private static partial Regex DurationText();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")]
    private static partial Regex DurationPart();

    private static TimeSpan? ParseDuration(string text)
    {
        if (!DurationText().IsMatch(text)) return null;
        var total = TimeSpan.Zero;
        foreach (Match m in DurationPart().Matches(text))
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                _ => TimeSpan.FromHours(n),
            };
        }
        return total > TimeSpan.Zero ? total : null;
    }

    // ---------------------------------------------------------------- figures

    private static double? Sum(List<PromText.Sample> m, string name) =>
        m.Count == 0 ? null : m.Any(s => s.Name == name) ? m.Where(s => s.Name == name).Sum(s => s.Value) : null;

    /// <summary>
    /// How long the API server takes to serve the operator's start-up LISTs (the same request URIs,
    /// all at once, as the operator sends them) to a client that only reads the bytes: the part of
    /// "caches synced" that is the API server's, on the same two cores, with no operator running.
    /// </summary>
    private static async Task<string> ListFloorAsync(IKubernetes client, List<string> uris, CancellationToken ct)
    {
        if (uris.Count == 0) return "no LIST in the audit log";
        var k = (k8s.Kubernetes)client;
        var root = k.BaseUri.AbsoluteUri.TrimEnd('/');
        async Task<long> Read(string uri)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, root + uri);
            if (k.Credentials is not null) await k.Credentials.ProcessHttpRequestAsync(request, ct);
            using var response = await k.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            // The start-up check for KEDA's API is a LIST that is answered 404 without it.
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.NotFound))
                throw new HttpRequestException($"replaying LIST {uri}: {(int)response.StatusCode} {response.StatusCode}");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[81920];
            long n = 0;
            for (int read; (read = await body.ReadAsync(buffer, ct)) > 0;) n += read;
            return n;
        }
        var times = new List<double>();
        long bytes = 0;
        for (var run = 0; run < 3; run++)
        {
            var sw = Stopwatch.StartNew();
            bytes = (await Task.WhenAll(uris.Select(Read))).Sum();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return $"{times[1]:0.00}s median of 3 ({string.Join(", ", times.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture)))}): " +
               $"{uris.Count} requests, {bytes / 1048576.0:0} MiB of JSON, read and discarded, no operator running";
    }

    /// <summary>Failed probes by the operator's own count, with how many took the whole timeout.</summary>
    private static string ProbeFailures(List<PromText.Sample> m)
    {
        var all = Sum(m, "resilience_probes_total");
        if (all is null) return "not exported";
        var failed = m.Where(s => s.Name == "resilience_probes_total" && s.Labels.GetValueOrDefault("result") == "failure").Sum(s => s.Value);
        if (failed == 0) return $"0 of {all:0} probes failed; {Repeated(m):0} repeated (the operator stood still)";
        // Failures that took at least the 1 s timeout: the histogram's buckets are per namespace.
        var buckets = m.Where(s => s.Name == "resilience_probe_duration_seconds_bucket" && s.Labels.GetValueOrDefault("result") == "failure").ToList();
        var total = buckets.Where(s => double.IsPositiveInfinity(Le(s))).Sum(s => s.Value);
        var bound = buckets.Select(Le).Where(le => le < 1).DefaultIfEmpty(0).Max();
        var under = buckets.Where(s => Le(s) == bound).Sum(s => s.Value);
        return $"{failed:0} of {all:0} probes failed; {total - under:0} of those took over {bound:0.00} s (timeout 1 s); " +
               $"{Repeated(m):0} repeated (the operator stood still)";
    }

    /// <summary>Probes repeated because they timed out while the operator stood still; 0 from a build that does not count them.</summary>
    private static double Repeated(List<PromText.Sample> m) => Sum(m, "resilience_probes_repeated_total") ?? 0;

    /// <summary>What policy status writes recorded: the first four request bodies and how many there were.</summary>
    private static string Recorded(List<string> bodies) =>
        bodies.Count == 0 ? "none" : string.Join("; ", bodies.Take(4)) + (bodies.Count > 4 ? $"; ... ({bodies.Count} in all)" : "");

    private static string FailedProbesBetween(List<PromText.Sample> before, List<PromText.Sample> after)
    {
        static double Failed(List<PromText.Sample> m) =>
            m.Where(s => s.Name == "resilience_probes_total" && s.Labels.GetValueOrDefault("result") == "failure").Sum(s => s.Value);
        return Sum(before, "resilience_probes_total") is { } b && Sum(after, "resilience_probes_total") is { } a
            ? $"{Failed(after) - Failed(before):0} of {a - b:0} probes failed; {Repeated(after) - Repeated(before):0} repeated (the operator stood still)"
            : "not exported";
    }

    private static string Delta(double? before, double? after, double minutes) =>
        before is { } b && after is { } a ? $"{(a - b) / minutes:0.0}/min" : "not exported";

    /// <summary>One queue's wait histogram: its count, sum and cumulative buckets.</summary>
    private static (double Count, double Sum, List<(double Le, double Count)> Buckets) QueueWaits(List<PromText.Sample> m, string queue) =>
        (m.Where(s => s.Name == "workqueue_queue_duration_seconds_count" && s.Labels.GetValueOrDefault("name") == queue).Sum(s => s.Value),
         m.Where(s => s.Name == "workqueue_queue_duration_seconds_sum" && s.Labels.GetValueOrDefault("name") == queue).Sum(s => s.Value),
         m.Where(s => s.Name == "workqueue_queue_duration_seconds_bucket" && s.Labels.GetValueOrDefault("name") == queue)
            .Select(s => (Le: Le(s), s.Value)).OrderBy(b => b.Le).ToList());

    /// <summary>A histogram bucket's upper bound ("+Inf" is infinity).</summary>
    private static double Le(PromText.Sample s) =>
        double.TryParse(s.Labels.GetValueOrDefault("le"), NumberStyles.Float, CultureInfo.InvariantCulture, out var le) ? le : double.PositiveInfinity;

    /// <summary>The waits of the items queued between two samples of /metrics (the histograms' differences), per queue.</summary>
    private static string QueueWaitsBetween(List<PromText.Sample> before, List<PromText.Sample> after)
    {
        var queues = after.Where(s => s.Name == "workqueue_queue_duration_seconds_count").Select(s => s.Labels.GetValueOrDefault("name") ?? "").Distinct();
        var parts = new List<string>();
        foreach (var q in queues)
        {
            var (b, a) = (QueueWaits(before, q), QueueWaits(after, q));
            var count = a.Count - b.Count;
            if (count <= 0) continue;
            var buckets = BucketsBetween(before, after, "workqueue_queue_duration_seconds", s => s.Labels.GetValueOrDefault("name") == q)!;
            var (p99, bound) = HistogramQuantile(0.99, buckets);
            parts.Add($"'{q}' {count:0} items, p99 ~{p99 * 1000:0.0}ms (bucket <= {bound * 1000:0.#}ms)");
        }
        return parts.Count == 0 ? "none: nothing was queued, so nothing waited" : string.Join("; ", parts);
    }

    /// <summary>How late the health checks started in a window (the differences of resilience_health_check_start_delay_seconds).</summary>
    private static string CheckStartDelaysBetween(List<PromText.Sample> before, List<PromText.Sample> after)
    {
        if (BucketsBetween(before, after, "resilience_health_check_start_delay_seconds", _ => true) is not { } window) return "not exported";
        var count = window[^1].Count;
        if (count <= 0) return "no check started";
        var over1s = count - window.Where(x => x.Le == 1).Sum(x => x.Count);
        return $"{count:0} checks: {Quantiles(window)}; {over1s:0} more than 1s late";
    }

    /// <summary>How long the passing probes of a window took, their wait for a probe slot included (resilience_probe_duration_seconds).</summary>
    private static string ProbeDurationsBetween(List<PromText.Sample> before, List<PromText.Sample> after)
    {
        if (BucketsBetween(before, after, "resilience_probe_duration_seconds", s => s.Labels.GetValueOrDefault("result") == "success") is not { } window)
            return "not exported";
        return window[^1].Count <= 0 ? "no probe passed" : $"{window[^1].Count:0} passing probes: {Quantiles(window)}";
    }

    /// <summary>
    /// What held the health checks back in a window: the probes' waits for a slot, the passes of the check loop that
    /// found the most checks allowed at once running, and samples of the checks in flight and of the thread pool's queue.
    /// </summary>
    private static string CheckLimitsBetween(List<PromText.Sample> before, List<PromText.Sample> after, List<double> inFlight, List<double> poolQueue)
    {
        if (BucketsBetween(before, after, "resilience_probe_slot_wait_seconds", _ => true) is not { } waits) return "not exported";
        const string PassesAtLimit = "resilience_health_check_passes_at_limit_total";
        string Sampled(List<double> xs) => xs.Count == 0 ? "not exported" : $"median {Percentile(xs, 50):0}, max {xs.Max():0}";
        return $"slot waits {(waits[^1].Count <= 0 ? "none" : Quantiles(waits))}; " +
            $"loop passes at the in-flight limit {(Sum(after, PassesAtLimit) is { } a ? $"{a - (Sum(before, PassesAtLimit) ?? 0):0}" : "not exported")}; " +
            $"checks in flight {Sampled(inFlight)}; thread pool queue {Sampled(poolQueue)} ({inFlight.Count} samples)";
    }

    /// <summary>A histogram's cumulative buckets between two samples of /metrics, summed over its series; null when not exported.</summary>
    private static List<(double Le, double Count)>? BucketsBetween(List<PromText.Sample> before, List<PromText.Sample> after, string name,
        Func<PromText.Sample, bool> series)
    {
        List<(double Le, double Count)> Buckets(List<PromText.Sample> m) =>
            [.. m.Where(s => s.Name == name + "_bucket" && series(s)).GroupBy(Le).Select(g => (Le: g.Key, Count: g.Sum(s => s.Value))).OrderBy(b => b.Le)];
        var (b, a) = (Buckets(before), Buckets(after));
        return a.Count == 0 ? null : [.. a.Select(x => (x.Le, x.Count - b.Where(y => y.Le == x.Le).Sum(y => y.Count)))];
    }

    private static string Quantiles(List<(double Le, double Count)> buckets)
    {
        var (p50, _) = HistogramQuantile(0.50, buckets);
        var (p99, bound) = HistogramQuantile(0.99, buckets);
        return $"p50 ~{p50 * 1000:0.#}ms, p99 ~{p99 * 1000:0.#}ms (bucket <= {bound * 1000:0.#}ms)";
    }

    private void QueueRows(List<PromText.Sample> m, string when)
    {
        var queues = m.Where(s => s.Name == "workqueue_queue_duration_seconds_count" && s.Value > 0)
            .Select(s => s.Labels.GetValueOrDefault("name") ?? "").Distinct().ToList();
        if (queues.Count == 0) { Row($"  work queue wait {when}", "not exported"); return; }
        foreach (var q in queues)
        {
            var (count, sum, buckets) = QueueWaits(m, q);
            var (p99, bound) = HistogramQuantile(0.99, buckets);
            var depth = m.Where(s => s.Name == "workqueue_depth" && s.Labels.GetValueOrDefault("name") == q).Sum(s => s.Value);
            Row($"  work queue '{q}' {when}", $"{count:0} items, wait mean {sum / count * 1000:0.0}ms, " +
                $"p99 ~{p99 * 1000:0.0}ms (bucket <= {bound * 1000:0.#}ms), depth {depth:0}");
        }
    }

    private static string Depths(List<PromText.Sample> m)
    {
        var depths = m.Where(s => s.Name == "workqueue_depth").Select(s => $"{s.Labels.GetValueOrDefault("name")} {s.Value:0}").ToList();
        return depths.Count == 0 ? "not exported" : string.Join(", ", depths);
    }

    /// <summary>Prometheus' histogram_quantile: linear inside the bucket that holds the rank; also returns that bucket's upper bound.</summary>
    private static (double Value, double Bound) HistogramQuantile(double q, List<(double Le, double Count)> buckets)
    {
        if (buckets.Count == 0 || buckets[^1].Count == 0) return (double.NaN, double.NaN);
        var rank = q * buckets[^1].Count;
        var (lowerLe, lowerCount) = (0.0, 0.0);
        foreach (var (le, count) in buckets)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(le)) return (lowerLe, le);
                return (lowerLe + (le - lowerLe) * ((rank - lowerCount) / Math.Max(1e-9, count - lowerCount)), le);
            }
            (lowerLe, lowerCount) = (le, count);
        }
        return (lowerLe, double.PositiveInfinity);
    }

    /// <summary>The runtime's total pause time (its System.Runtime meter's dotnet.gc.pause.time), or its growth since <paramref name="since"/>.</summary>
    private static string GcPauses(List<PromText.Sample> metrics, List<PromText.Sample>? since = null)
    {
        static double? Total(List<PromText.Sample> m) =>
            m.Where(s => s.Name.StartsWith("system_runtime_dotnet_gc_pause_time", StringComparison.Ordinal)).ToList() is { Count: > 0 } pauses
                ? pauses.Sum(s => s.Value) : null;
        var (now, before) = (Total(metrics), since is null ? 0 : Total(since));
        return now is null || before is null ? "not exported" : $"{(now - before) * 1000:0} ms";
    }

    private static string Compactions(List<PromText.Sample> metrics) =>
        Sum(metrics, "resilience_heap_compactions_total") is { } n ? n.ToString("0", CultureInfo.InvariantCulture) : "not exported";

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        var rank = (p / 100.0) * (sorted.Count - 1);
        var (lo, hi) = ((int)Math.Floor(rank), (int)Math.Ceiling(rank));
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>
    /// The operator as the image holds it (<see cref="ImagePublish"/>: the Dockerfile's publish
    /// command, ReadyToRun included), published into .local/bench-scale-operator; null when it fails.
    /// </summary>
    private static async Task<string?> PublishAsImageAsync(CancellationToken ct)
    {
        if (RepoRoot() is not { } root) return null;
        var output = Path.Combine(root, ".local", "bench-scale-operator");
        Console.WriteLine($"publishing the operator with the Dockerfile's command into {output}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in ImagePublish.Arguments(root, output)) psi.ArgumentList.Add(a);
        psi.WorkingDirectory = root;
        using var publish = Process.Start(psi)!;
        var stdout = publish.StandardOutput.ReadToEndAsync(ct);
        var stderr = publish.StandardError.ReadToEndAsync(ct);
        await publish.WaitForExitAsync(ct);
        if (publish.ExitCode == 0) return Path.Combine(output, "ResilienceOperator.dll");
        Console.Error.WriteLine($"bench-scale: dotnet publish exited {publish.ExitCode}\n{await stdout}{await stderr}");
        return null;
    }

    /// <summary>The repository this benchmark was built from: the folder up from it that holds the Dockerfile.</summary>
    private static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dockerfile"))) return dir.FullName;
        return null;
    }

    // ---------------------------------------------------------------- the operator process

    /// <summary>The built operator as its own process, with leader election off, serving /readyz and /metrics on loopback.</summary>
    private sealed class OperatorProcess
    {
        private static readonly List<Process> Started = [];
        private readonly Process _process;
        private readonly StreamWriter _log;

        static OperatorProcess()
        {
            // A crash of this benchmark never leaves an operator behind.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                lock (Started) foreach (var p in Started) { try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }
            };
        }

        private OperatorProcess(Process process, int port, string logFile, StreamWriter log)
        {
            _process = process;
            Port = port;
            LogFile = logFile;
            _log = log;
        }

        public int Port { get; }
        public string LogFile { get; }
        public int Pid => _process.Id;
        public bool HasExited => _process.HasExited;
        public int ExitCode => _process.ExitCode;

        public static OperatorProcess Start(string dll, string kubeconfig, string logFile)
        {
            var port = FreePort();
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[]
            {
                dll, "--kubeconfig", kubeconfig, "--port", port.ToString(CultureInfo.InvariantCulture), "--bind-address", "127.0.0.1",
                "--leader-elect=false", "--log-level", "Warning",
            }) psi.ArgumentList.Add(a);
            // The image's runtime settings, unless this environment sets the same one (to measure
            // another, or DOTNET_EnableDiagnostics=1 to take a heap dump).
            foreach (var (name, value) in ImageRuntimeSettings()) psi.Environment.TryAdd(name, value);
            var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
            var process = Process.Start(psi)!;
            lock (Started) Started.Add(process);
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new OperatorProcess(process, port, logFile, log);
        }

        /// <summary>
        /// The runtime settings the image gives the operator (the Dockerfile's <c>ENV DOTNET_…</c>
        /// and <c>MALLOC_…</c>: GC, JIT, diagnostics, glibc's heap): the benchmark runs the operator
        /// as the image does.
        /// </summary>
        public static IEnumerable<(string Name, string Value)> ImageRuntimeSettings() =>
            RepoRoot() is { } root
                ? [.. EnvInstructions(File.ReadAllText(Path.Combine(root, "Dockerfile"))).SelectMany(e => Regex.Matches(e, @"\b((?:DOTNET|MALLOC)_\w+)=(\S+)"))
                    .Select(m => (m.Groups[1].Value, m.Groups[2].Value))]
                : [];

        /// <summary>The Dockerfile's ENV instructions, each with its continuation lines; not the comments that name a setting.</summary>
        private static IEnumerable<string> EnvInstructions(string dockerfile)
        {
            string? instruction = null;
            foreach (var line in dockerfile.Split('\n').Select(l => l.TrimEnd('\r')))
            {
                if (instruction is null && !line.StartsWith("ENV ", StringComparison.Ordinal)) continue;
                if (line.TrimStart().StartsWith('#')) continue;
                instruction = (instruction ?? "") + " " + line.TrimEnd('\\');
                if (line.EndsWith('\\')) continue;
                yield return instruction;
                instruction = null;
            }
        }

        public async Task<bool> ReadyAsync()
        {
            try { return (await Http.GetAsync(new Uri($"http://127.0.0.1:{Port}/readyz"))).StatusCode == HttpStatusCode.OK; }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return false; }
        }

        /// <summary>The samples of /metrics; empty when it does not answer.</summary>
        public async Task<List<PromText.Sample>> MetricsAsync() => (await TimedMetricsAsync()).Samples;

        /// <summary>The samples of /metrics, with when the request went out and when its whole response had arrived (Unix seconds).</summary>
        public async Task<(List<PromText.Sample> Samples, double Sent, double Received)> TimedMetricsAsync()
        {
            var sent = UnixSeconds();
            try
            {
                var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics"));
                var received = UnixSeconds();
                return (PromText.Parse(text), sent, received);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return ([], sent, sent); }
        }

        private static double UnixSeconds() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

        /// <summary>SIGTERM, as the kubelet sends; false when it had to be killed after 30 s.</summary>
        public async Task<bool> TerminateAsync()
        {
            if (_process.HasExited) return true;
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(cts.Token); return true; }
            catch (OperationCanceledException) { await StopAsync(); return false; }
        }

        public async Task StopAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (InvalidOperationException) { }
            lock (Started) Started.Remove(_process);
            lock (_log) _log.Flush();
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }
    }

    /// <summary>Stops whichever operator process is current when the run ends, however it ends.</summary>
    private sealed class Stopper(Func<OperatorProcess> current) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await current().StopAsync();
    }

    // ---------------------------------------------------------------- sampling

    /// <summary>VmRSS of the operator process every second, and its /metrics memory figures every 5 s.</summary>
    private sealed class Sampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<(double T, int Pid, long Kb, long AnonKb)> _rss = [];
        private readonly List<(double T, string Mark)> _marks = [];
        private readonly List<(double T, int Pid, double SinceStart, double? Heap, double? Private, long RssKb, string Gc)> _heap = [];
        private volatile OperatorProcess? _op;
        private double _opStart;

        public Sampler() => _loop = Task.Run(LoopAsync);

        public void Watch(OperatorProcess op)
        {
            _op = op;
            lock (_rss) _opStart = _clock.Elapsed.TotalSeconds;
            Mark($"start pid {op.Pid}");
        }

        public void Mark(string mark) { lock (_rss) _marks.Add((_clock.Elapsed.TotalSeconds, mark)); }

        private async Task LoopAsync()
        {
            var tick = 0;
            while (!_stop.IsCancellationRequested)
            {
                if (_op is { } op && Rss(op.Pid) is var (kb, anonKb) && kb > 0)
                {
                    lock (_rss) _rss.Add((_clock.Elapsed.TotalSeconds, op.Pid, kb, anonKb));
                    if (tick % 5 == 0)
                    {
                        var m = await op.MetricsAsync();
                        if (m.Count > 0)
                            lock (_rss)
                                _heap.Add((_clock.Elapsed.TotalSeconds, op.Pid, _clock.Elapsed.TotalSeconds - _opStart,
                                    Sum(m, "dotnet_total_memory_bytes"), Sum(m, "process_private_memory_bytes"), kb, GcParts(m)));
                    }
                }
                tick++;
                try { await Task.Delay(1000, _stop.Token); } catch (OperationCanceledException) { }
            }
        }

        /// <summary>
        /// What the runtime's own meters say of the heap after the last collection: memory the GC
        /// committed, and per generation the size (live and not yet collected) and the free space in it.
        /// </summary>
        private static string GcParts(List<PromText.Sample> m)
        {
            const string Committed = "system_runtime_dotnet_gc_last_collection_memory_committed_size";
            if (!m.Any(s => s.Name == Committed)) return "GC breakdown not exported";
            string Gen(string metric, string gen) =>
                m.FirstOrDefault(s => s.Name == metric && s.Labels.GetValueOrDefault("gc_heap_generation") == gen) is { } s ? $"{s.Value / 1048576:0}" : "?";
            var gens = new[] { "gen0", "gen1", "gen2", "loh" };
            return $"GC committed {Sum(m, Committed) / 1048576:0} MiB, size " +
                string.Join("/", gens.Select(g => Gen("system_runtime_dotnet_gc_last_collection_heap_size", g))) + " MiB, free " +
                string.Join("/", gens.Select(g => Gen("system_runtime_dotnet_gc_last_collection_heap_fragmentation_size", g))) + " MiB (gen0/gen1/gen2/LOH)";
        }

        /// <summary>
        /// VmRSS and its anonymous part (RssAnon) in KiB; 0 when the process is gone. The rest of
        /// VmRSS is mapped files (the runtime's and the app's DLLs), which the kernel can drop and
        /// read again under a memory limit; the anonymous part it cannot.
        /// </summary>
        private static (long Kb, long AnonKb) Rss(int pid)
        {
            try
            {
                long Field(IEnumerable<string> lines, string name) => lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } line
                    ? long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) : 0;
                var status = File.ReadAllLines($"/proc/{pid}/status");
                return (Field(status, "VmRSS:"), Field(status, "RssAnon:"));
            }
            catch (IOException) { return (0, 0); }
        }

        public long PeakKb(int pid, bool anon = false)
        {
            lock (_rss) return _rss.Where(r => r.Pid == pid).Select(r => anon ? r.AnonKb : r.Kb).DefaultIfEmpty().Max();
        }

        public long MedianKb(int pid, string from, string to, bool anon = false)
        {
            lock (_rss)
            {
                var a = _marks.LastOrDefault(m => m.Mark == from).T;
                var b = _marks.LastOrDefault(m => m.Mark == to).T;
                var v = _rss.Where(r => r.Pid == pid && r.T >= a && r.T <= b).Select(r => anon ? r.AnonKb : r.Kb).Order().ToList();
                return v.Count == 0 ? 0 : v[v.Count / 2];
            }
        }

        /// <summary>Up to <paramref name="count"/> samples spread over the run, each with the phase it fell in.</summary>
        public IEnumerable<string> HeapSamples(int count)
        {
            lock (_rss)
            {
                if (_heap.Count == 0) return ["no samples (/metrics did not answer)"];
                var picks = Enumerable.Range(0, Math.Min(count, _heap.Count))
                    .Select(i => _heap[(int)Math.Round(i * (_heap.Count - 1) / (double)Math.Max(1, Math.Min(count, _heap.Count) - 1))])
                    .Distinct();
                return picks.Select(h =>
                {
                    var phase = _marks.LastOrDefault(m => m.T <= h.T).Mark ?? "";
                    return $"pid {h.Pid} t+{h.SinceStart,4:0}s ({phase}): dotnet_total_memory_bytes {Mib(h.Heap)}, " +
                        $"process_private_memory_bytes {Mib(h.Private)}, VmRSS {h.RssKb / 1024.0:0} MiB; {h.Gc}";
                }).ToList();
            }
            static string Mib(double? b) => b is { } v ? $"{v / 1048576:0.0} MiB" : "not exported";
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }

    // ---------------------------------------------------------------- the API server's audit log

    /// <summary>
    /// The API server's audit log, counted by client, verb and resource over windows of the time the
    /// request was received. Read once, when first counted: the API server writes a watch's entry
    /// only at its first event or its end, so it is read after the operator processes ended.
    /// </summary>
    private sealed class AuditLog(string path)
    {
        public string Path { get; } = path;
        private List<Entry>? _entries;

        private sealed record Entry(DateTime Received, string Client, string Agent, string Verb, string Resource, string Name, string Uri, string? Body);

        public static DateTime Mark() => DateTime.UtcNow;

        public Counts Count(DateTime from, DateTime to)
        {
            _entries ??= Load();
            var counts = new Counts();
            foreach (var e in _entries)
                if (e.Received >= from && e.Received < to) counts.Add(e.Client, e.Agent, e.Verb, e.Resource);
            return counts;
        }

        /// <summary>The request URIs of the operator's LISTs received in the window, read from the file as it is now.</summary>
        public List<string> ListUris(DateTime from, DateTime to) =>
            [.. Load().Where(e => e.Received >= from && e.Received < to && e.Client == "operator" && e.Verb == "list").Select(e => e.Uri)];

        /// <summary>The operator's request bodies in the window: the audit policy logs them for policy status writes only.</summary>
        public List<string> Bodies(DateTime from, DateTime to)
        {
            _entries ??= Load();
            return _entries.Where(e => e.Received >= from && e.Received < to && e.Client == "operator" && e.Body is not null)
                .Select(e => $"{e.Verb} {e.Resource} {e.Name}: {StatusSummary(e.Body!)}").ToList();
        }

        /// <summary>
        /// The operator's writes to the named objects from <paramref name="from"/> on, each with its time after
        /// <paramref name="from"/> and, for a status write, what it recorded.
        /// </summary>
        public List<string> Writes(DateTime from, IReadOnlySet<string> names)
        {
            _entries ??= Load();
            return [.. _entries.Where(e => e.Received >= from && e.Client == "operator" && Counts.WriteVerbs.Contains(e.Verb) && names.Contains(e.Name))
                .Select(e => $"+{(e.Received - from).TotalSeconds:0.00}s {e.Verb} {e.Resource}" + (e.Body is { } b ? $" ({StatusSummary(b)})" : ""))];
        }

        /// <summary>The status a write set, in short: each target's verdict and each condition (the whole body when it holds no status).</summary>
        private static string StatusSummary(string body)
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            // The operator writes status as a JSON patch ("test" of the resourceVersion, then "add" of /status).
            var status = root.ValueKind == JsonValueKind.Array
                ? root.EnumerateArray().Where(op => op.TryGetProperty("path", out var path) && path.GetString() == "/status")
                    .Select(op => op.TryGetProperty("value", out var v) ? v : default).FirstOrDefault()
                : root.TryGetProperty("status", out var st) ? st : default;
            if (status.ValueKind != JsonValueKind.Object) return body.Length > 300 ? body[..300] + "..." : body;
            var parts = new List<string>();
            if (status.TryGetProperty("targets", out var targets) && targets.ValueKind == JsonValueKind.Array)
                foreach (var t in targets.EnumerateArray())
                    parts.Add($"{Str(t, "name")} healthy={Str(t, "healthy")} consecutiveFailures={Str(t, "consecutiveFailures")}" +
                              (Str(t, "message") is { Length: > 0 } m ? $" \"{m}\"" : ""));
            if (status.TryGetProperty("conditions", out var conditions) && conditions.ValueKind == JsonValueKind.Array)
                parts.Add("conditions " + string.Join(",", conditions.EnumerateArray().Select(c => $"{Str(c, "type")}={Str(c, "status")}")));
            return string.Join(" | ", parts);
            static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v)
                ? v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : v.GetRawText() : "";
        }

        private List<Entry> Load()
        {
            var entries = new List<Entry>();
            if (!File.Exists(Path)) return entries;
            var seen = new HashSet<string>();
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0) continue;
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                // One request, one count, whichever of its stages (ResponseStarted, ResponseComplete) is logged.
                if (!seen.Add(e.GetProperty("auditID").GetString() ?? "")) continue;
                var received = DateTime.Parse(e.GetProperty("requestReceivedTimestamp").GetString()!, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                var verb = e.GetProperty("verb").GetString() ?? "";
                var agent = e.TryGetProperty("userAgent", out var ua) ? ua.GetString() ?? "" : "";
                var (resource, name) = ("", "");
                if (e.TryGetProperty("objectRef", out var o))
                {
                    if (o.TryGetProperty("resource", out var r)) resource = r.GetString() ?? "";
                    if (o.TryGetProperty("subresource", out var sub)) resource += "/" + sub.GetString();
                    if (o.TryGetProperty("namespace", out var ns)) name = ns.GetString() + "/";
                    if (o.TryGetProperty("name", out var n)) name += n.GetString();
                }
                var body = e.TryGetProperty("requestObject", out var ro) ? ro.GetRawText() : null;
                var uri = e.TryGetProperty("requestURI", out var u) ? u.GetString() ?? "" : "";
                entries.Add(new Entry(received, Client(agent), agent, verb, resource, name, uri, body));
            }
            return entries;
        }

        private static string Client(string agent) =>
            agent.Contains(DemoUserAgent, StringComparison.Ordinal) ? "benchmark+simulator"
            : agent.StartsWith("kube-controller-manager", StringComparison.Ordinal) ? "controller-manager"
            : agent.StartsWith("kube-scheduler", StringComparison.Ordinal) ? "scheduler"
            : agent.StartsWith("kube-apiserver", StringComparison.Ordinal) ? "apiserver"
            : agent.StartsWith("kubectl", StringComparison.Ordinal) ? "kubectl"
            : "operator";
    }

    private sealed class Counts
    {
        public static readonly string[] WriteVerbs = ["create", "update", "patch", "delete", "deletecollection"];
        private readonly Dictionary<(string Client, string Verb, string Resource), int> _n = [];
        private readonly HashSet<string> _agents = [];

        public IEnumerable<string> OperatorAgents => _agents;

        public void Add(string client, string agent, string verb, string resource)
        {
            _n[(client, verb, resource)] = _n.GetValueOrDefault((client, verb, resource)) + 1;
            if (client == "operator") _agents.Add(agent);
        }

        public int Operator(string verb) => _n.Where(x => x.Key.Client == "operator" && x.Key.Verb == verb).Sum(x => x.Value);

        public int OperatorWrites() => _n.Where(x => x.Key.Client == "operator" && WriteVerbs.Contains(x.Key.Verb)).Sum(x => x.Value);

        public string OperatorBreakdown(string prefix)
        {
            var parts = _n.Where(x => x.Key.Client == "operator" && WriteVerbs.Contains(x.Key.Verb)).OrderByDescending(x => x.Value)
                .Select(x => $"{x.Value} {x.Key.Verb} {x.Key.Resource}").ToList();
            return parts.Count == 0 ? "" : $"{prefix}[{string.Join(", ", parts)}]";
        }

        public string OthersWrites(double minutes)
        {
            var parts = _n.Where(x => x.Key.Client != "operator" && WriteVerbs.Contains(x.Key.Verb)).GroupBy(x => x.Key.Client)
                .OrderByDescending(g => g.Sum(x => x.Value))
                .Select(g => $"{g.Key} {g.Sum(x => x.Value) / minutes:0.0}/min [" +
                             string.Join(", ", g.OrderByDescending(x => x.Value).Take(3)
                                 .Select(x => $"{x.Value} {x.Key.Verb} {x.Key.Resource}")) + "]").ToList();
            return parts.Count == 0 ? "none" : string.Join(", ", parts);
        }
    }

    // ---------------------------------------------------------------- Prometheus text

    private static class PromText
    {
        public sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

        public static List<Sample> Parse(string text)
        {
            var samples = new List<Sample>();
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd();
                if (line.Length == 0 || line[0] == '#') continue;
                var brace = line.IndexOf('{');
                var close = brace >= 0 ? line.IndexOf('}', brace) : -1;
                var labels = new Dictionary<string, string>();
                string name, rest;
                if (brace >= 0 && close > brace)
                {
                    name = line[..brace];
                    foreach (Match m in LabelPair().Matches(line[(brace + 1)..close])) labels[m.Groups[1].Value] = m.Groups[2].Value;
                    rest = line[(close + 1)..];
                }
                else
                {
                    var space = line.IndexOf(' ');
                    if (space < 0) continue;
                    (name, rest) = (line[..space], line[space..]);
                }
                // The value, then an optional timestamp.
                var valueText = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
                var value = valueText switch
                {
                    "+Inf" => double.PositiveInfinity,
                    "-Inf" => double.NegativeInfinity,
                    _ => double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN,
                };
                samples.Add(new Sample(name, labels, value));
            }
            return samples;
        }
    }

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();
}
