using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

// WatcherExt.WatchAsync<T, L> is marked obsolete in favour of untyped helpers; the typed form is what we need.
#pragma warning disable CS0618

namespace ResilienceOperator.NodeSimulator;

/// <summary>
/// A kubelet stand-in, like KWOK: registers Nodes and keeps their Leases fresh, runs the pods
/// scheduled to them (status, a pod IP on loopback with real listening ports, readiness gates,
/// deletion), runs Job pods to completion or failure, and injects faults named by Deployment
/// and StatefulSet annotations. Nothing runs in a container; everything answers on 127.0.0.0/8.
/// </summary>
public sealed class NodeSimulator : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly NodeSimulatorOptions _options;
    private readonly ILogger _log;
    private readonly HashSet<string> _nodes;
    private readonly ConcurrentDictionary<string, V1Pod> _pods = new();          // ns/name -> pod
    private readonly ConcurrentDictionary<string, PodRuntime> _runtimes = new(); // uid -> runtime
    private readonly ConcurrentDictionary<string, (IDictionary<string, string> Selector, string Fault)> _faults = new(); // ns/kind/name
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, byte> _queued = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly IpPool _ips;

    /// <summary>Creates the simulator; nothing happens until <see cref="StartAsync"/>.</summary>
    public NodeSimulator(IKubernetes client, NodeSimulatorOptions? options = null, ILogger? logger = null)
    {
        _client = client;
        _options = options ?? new NodeSimulatorOptions();
        _log = logger ?? NullLogger.Instance;
        _nodes = [.. Enumerable.Range(0, _options.Nodes).Select(i => $"{_options.NodePrefix}-{i}")];
        _ips = new IpPool(_options.PodNetwork);
    }

    /// <summary>
    /// Raised on a pod's endpoint thread after it answered an HTTP request: the pod's namespace and name, and whether
    /// the answer was a failing one. A handler must return at once.
    /// </summary>
    public event Action<string, string, bool>? Answered;

    /// <summary>Names of the simulated nodes.</summary>
    public IReadOnlyCollection<string> NodeNames => _nodes;

    /// <summary>Registers the nodes and starts serving their pods.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var node in _nodes) await RegisterNodeAsync(node, ct);
        var token = _stop.Token;
        _tasks.Add(Task.Run(() => HeartbeatLoopAsync(token), CancellationToken.None));
        _tasks.Add(Task.Run(() => WatchLoopAsync<V1Deployment, V1DeploymentList>("deployments",
            t => _client.AppsV1.ListDeploymentForAllNamespacesAsync(cancellationToken: t),
            (rv, t) => _client.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                allowWatchBookmarks: true, timeoutSeconds: 240, cancellationToken: t),
            l => (l.Items, l.Metadata.ResourceVersion), OnDeployment, token), CancellationToken.None));
        _tasks.Add(Task.Run(() => WatchLoopAsync<V1StatefulSet, V1StatefulSetList>("statefulsets",
            t => _client.AppsV1.ListStatefulSetForAllNamespacesAsync(cancellationToken: t),
            (rv, t) => _client.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                allowWatchBookmarks: true, timeoutSeconds: 240, cancellationToken: t),
            l => (l.Items, l.Metadata.ResourceVersion), OnStatefulSet, token), CancellationToken.None));
        _tasks.Add(Task.Run(() => WatchLoopAsync<V1Pod, V1PodList>("pods",
            t => _client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: t),
            (rv, t) => _client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                allowWatchBookmarks: true, timeoutSeconds: 240, cancellationToken: t),
            l => (l.Items, l.Metadata.ResourceVersion), OnPod, token), CancellationToken.None));
        for (var i = 0; i < _options.Writers; i++) _tasks.Add(Task.Run(() => WorkerAsync(token), CancellationToken.None));
        _tasks.Add(Task.Run(() => TickLoopAsync(token), CancellationToken.None));
    }

    /// <summary>Stops serving; the Nodes stay registered (their Leases simply age).</summary>
    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        _work.Writer.TryComplete();
        try { await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        foreach (var rt in _runtimes.Values) rt.Dispose();
        _runtimes.Clear();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    // ---- nodes ----

    private async Task RegisterNodeAsync(string name, CancellationToken ct)
    {
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string>
                {
                    ["type"] = "sim", ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux", ["kubernetes.io/arch"] = "amd64",
                },
            },
        };
        try { await _client.CoreV1.CreateNodeAsync(node, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { }
        await UpdateNodeStatusAsync(name, ct);
        await RenewLeaseAsync(name, ct);
    }

    private async Task UpdateNodeStatusAsync(string name, CancellationToken ct)
    {
        var now = Now();
        var resources = new JsonObject { ["cpu"] = "64", ["memory"] = "256Gi", ["pods"] = "1000", ["ephemeral-storage"] = "1Ti" };
        var patch = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["capacity"] = resources.DeepClone(),
                ["allocatable"] = resources.DeepClone(),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" },
                    new JsonObject { ["type"] = "Hostname", ["address"] = name }),
                ["nodeInfo"] = new JsonObject
                {
                    ["kubeletVersion"] = "v1.20.2-sim", ["kubeProxyVersion"] = "v1.20.2-sim", ["operatingSystem"] = "linux", ["architecture"] = "amd64",
                    ["containerRuntimeVersion"] = "sim://1", ["osImage"] = "ResilienceOperator node simulator", ["kernelVersion"] = "sim",
                    ["machineID"] = name, ["systemUUID"] = name, ["bootID"] = name,
                },
                ["conditions"] = new JsonArray(
                    Condition("Ready", "True", "KubeletReady", now, now),
                    Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", now, now),
                    Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", now, now),
                    Condition("PIDPressure", "False", "KubeletHasSufficientPID", now, now)),
            },
        };
        await _client.CoreV1.PatchNodeStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch), name, cancellationToken: ct);
    }

    private static JsonObject Condition(string type, string status, string reason, string heartbeat, string transition) => new()
    {
        ["type"] = type, ["status"] = status, ["reason"] = reason, ["lastHeartbeatTime"] = heartbeat, ["lastTransitionTime"] = transition,
    };

    private async Task RenewLeaseAsync(string node, CancellationToken ct)
    {
        var renew = DateTime.UtcNow;
        try
        {
            var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(node, "kube-node-lease", cancellationToken: ct);
            lease.Spec.RenewTime = renew;
            lease.Spec.HolderIdentity = node;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, node, "kube-node-lease", cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
            {
                Metadata = new V1ObjectMeta { Name = node, NamespaceProperty = "kube-node-lease" },
                Spec = new V1LeaseSpec { HolderIdentity = node, LeaseDurationSeconds = 40, RenewTime = renew },
            }, "kube-node-lease", cancellationToken: ct);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var beats = 0;
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(TimeSpan.FromSeconds(10), ct); } catch (OperationCanceledException) { return; }
            beats++;
            foreach (var node in _nodes)
            {
                try
                {
                    await RenewLeaseAsync(node, ct);
                    if (beats % 3 == 0) await UpdateNodeStatusAsync(node, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _log.LogWarning("heartbeat of {Node} failed: {Error}", node, ex.Message);
                }
            }
        }
    }

    // ---- watches ----

    private async Task WatchLoopAsync<T, TList>(string what,
        Func<CancellationToken, Task<TList>> list,
        Func<string, CancellationToken, Task<HttpOperationResponse<TList>>> watch,
        Func<TList, (IList<T> Items, string Rv)> unpack,
        Action<WatchEventType, T> handle, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var (items, rv) = unpack(await list(ct));
                foreach (var item in items) handle(WatchEventType.Modified, item);
                if (items is IList<V1Pod> podItems) ForgetMissingPods(podItems);
                while (!ct.IsCancellationRequested)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(270));
                    var started = System.Diagnostics.Stopwatch.StartNew();
                    var events = 0;
                    Exception? error = null;
                    try
                    {
                        // An ERROR event (410 Gone) reaches only the error callback: without it the
                        // stream would look cleanly ended and be re-opened on the expired version.
                        await foreach (var (type, obj) in watch(rv, timeout.Token).WatchAsync<T, TList>(ex => error = ex, timeout.Token))
                        {
                            if (type == WatchEventType.Error) throw new InvalidOperationException("watch error");
                            events++;
                            if (!string.IsNullOrEmpty(obj?.Metadata?.ResourceVersion)) rv = obj.Metadata.ResourceVersion;
                            if (type == WatchEventType.Bookmark || obj is null) continue;
                            handle(type, obj);
                        }
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
                    if (error is not null) throw new InvalidOperationException("watch error: " + error.Message, error);
                    if (events == 0 && started.Elapsed < TimeSpan.FromSeconds(1)) throw new InvalidOperationException("watch ended at once");
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception ex)
            {
                _log.LogInformation("{What} watch ended ({Error}); relisting", what, ex.Message);
                try { await Task.Delay(500, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void ForgetMissingPods(IList<V1Pod> items)
    {
        var live = items.Select(p => p.Metadata.Uid).ToHashSet();
        foreach (var uid in _runtimes.Keys.Where(u => !live.Contains(u)).ToList())
            if (_runtimes.TryRemove(uid, out var rt)) { _ips.Release(rt.Ip); rt.Dispose(); }
        foreach (var key in _pods.Keys.Where(k => _pods.TryGetValue(k, out var p) && !live.Contains(p.Metadata.Uid)).ToList())
            _pods.TryRemove(key, out _);
    }

    private void OnDeployment(WatchEventType type, V1Deployment d) => OnWorkload("Deployment", type, d.Metadata, d.Spec?.Selector?.MatchLabels);

    private void OnStatefulSet(WatchEventType type, V1StatefulSet s) => OnWorkload("StatefulSet", type, s.Metadata, s.Spec?.Selector?.MatchLabels);

    /// <summary>A Deployment's or StatefulSet's fault annotation, applied to the pods its selector matches.</summary>
    private void OnWorkload(string kind, WatchEventType type, V1ObjectMeta meta, IDictionary<string, string>? selector)
    {
        var key = meta.NamespaceProperty + "/" + kind + "/" + meta.Name;
        string? fault = null;
        if (type != WatchEventType.Deleted) meta.Annotations?.TryGetValue(Annotations.Fault, out fault);
        var changed = false;
        if (fault is null || selector is null || selector.Count == 0) changed = _faults.TryRemove(key, out _);
        else
        {
            changed = !_faults.TryGetValue(key, out var old) || old.Fault != fault;
            _faults[key] = (selector, fault);
        }
        if (!changed) return;
        _log.LogInformation("fault on {Workload}: {Fault}", key, fault ?? "(none)");
        foreach (var (podKey, pod) in _pods)
            if (pod.Metadata.NamespaceProperty == meta.NamespaceProperty && selector is not null && Matches(selector, pod.Metadata.Labels))
                Enqueue(podKey);
    }

    private void OnPod(WatchEventType type, V1Pod pod)
    {
        var key = pod.Metadata.NamespaceProperty + "/" + pod.Metadata.Name;
        if (type == WatchEventType.Deleted)
        {
            _pods.TryRemove(key, out _);
            if (_runtimes.TryRemove(pod.Metadata.Uid, out var rt)) { _ips.Release(rt.Ip); rt.Dispose(); }
            return;
        }
        if (pod.Spec?.NodeName is null || !_nodes.Contains(pod.Spec.NodeName)) return;
        _pods[key] = pod;
        Enqueue(key);
    }

    private void Enqueue(string key)
    {
        if (_queued.TryAdd(key, 0)) _work.Writer.TryWrite(key);
    }

    private async Task TickLoopAsync(CancellationToken ct)
    {
        // Job completions and crash-loop restarts are due by time, not by events.
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(TimeSpan.FromMilliseconds(250), ct); } catch (OperationCanceledException) { return; }
            var now = DateTime.UtcNow;
            foreach (var (key, pod) in _pods)
            {
                if (!_runtimes.TryGetValue(pod.Metadata.Uid, out var rt)) continue;
                if ((rt.JobDue is { } due && !rt.JobDone && now >= due) || (FaultOf(pod) == "crash" && now >= rt.NextCrash))
                    Enqueue(key);
            }
        }
    }

    // ---- pods ----

    private async Task WorkerAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var key in _work.Reader.ReadAllAsync(ct))
            {
                _queued.TryRemove(key, out _);
                if (!_pods.TryGetValue(key, out var pod)) continue;
                try { await SyncPodAsync(pod, ct); }
                catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict) { }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _log.LogWarning("pod {Pod}: {Error}", key, ex.Message);
                    _ = Task.Delay(500, ct).ContinueWith(_ => Enqueue(key), TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task SyncPodAsync(V1Pod pod, CancellationToken ct)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var name = pod.Metadata.Name;
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            if (_runtimes.TryRemove(pod.Metadata.Uid, out var gone)) { _ips.Release(gone.Ip); gone.Dispose(); }
            await _client.CoreV1.DeleteNamespacedPodAsync(name, ns,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } },
                cancellationToken: ct);
            return;
        }
        var rt = _runtimes.GetOrAdd(pod.Metadata.Uid, _ => StartRuntime(pod));
        var now = DateTime.UtcNow;
        var fault = rt.IsJob ? null : FaultOf(pod);
        rt.Fault = fault;

        if (fault == "crash")
        {
            if (rt.CrashSince is null) { rt.CrashSince = now; rt.NextCrash = now; }
            if (now >= rt.NextCrash) { rt.Restarts++; rt.NextCrash = now + TimeSpan.FromSeconds(3); }
        }
        else rt.CrashSince = null;

        string phase;
        bool containersReady;
        JsonObject state;
        JsonObject? lastState = null;
        if (rt.IsJob && rt.JobDue is { } due && now >= due)
        {
            rt.JobDone = true;
            phase = rt.ExitCode == 0 ? "Succeeded" : "Failed";
            containersReady = false;
            state = new JsonObject
            {
                ["terminated"] = new JsonObject
                {
                    ["exitCode"] = rt.ExitCode, ["reason"] = rt.ExitCode == 0 ? "Completed" : "Error",
                    ["startedAt"] = Time(rt.Started), ["finishedAt"] = Time(due), ["containerID"] = "sim://" + pod.Metadata.Uid,
                },
            };
        }
        else if (fault == "crash")
        {
            phase = "Running";
            containersReady = false;
            state = new JsonObject
            {
                ["waiting"] = new JsonObject
                {
                    ["reason"] = "CrashLoopBackOff", ["message"] = "back-off restarting failed container (simulated)",
                },
            };
            lastState = new JsonObject
            {
                ["terminated"] = new JsonObject
                {
                    ["exitCode"] = 1, ["reason"] = "Error", ["startedAt"] = Time(rt.Started), ["finishedAt"] = Now(),
                },
            };
        }
        else
        {
            phase = "Running";
            containersReady = fault != "unready";
            state = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time(rt.Started) } };
        }
        // Readiness gates: Ready only when every gate's condition on the pod is True, as the kubelet does.
        var gates = pod.Spec.ReadinessGates?.Select(g => g.ConditionType).ToList() ?? [];
        var gatesPass = gates.All(g => pod.Status?.Conditions?.Any(c => c.Type == g && c.Status == "True") == true);
        var ready = containersReady && gatesPass && phase == "Running";

        if (Observed(pod) == (phase, rt.Ip.ToString(), containersReady, ready, rt.Restarts)) return;

        var containers = new JsonArray();
        foreach (var c in pod.Spec.Containers)
        {
            var cs = new JsonObject
            {
                ["name"] = c.Name, ["ready"] = containersReady, ["started"] = phase == "Running" && fault != "crash", ["restartCount"] = rt.Restarts,
                ["image"] = c.Image ?? "sim", ["imageID"] = "sim://" + (c.Image ?? "sim"), ["containerID"] = "sim://" + pod.Metadata.Uid + "/" + c.Name,
                ["state"] = state.DeepClone(),
            };
            if (lastState is not null) cs["lastState"] = lastState.DeepClone();
            containers.Add(cs);
        }
        var nowText = Now();
        string Transition(string type, bool status)
        {
            var existing = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
            return existing is not null && existing.Status == (status ? "True" : "False") && existing.LastTransitionTime is { } t ? Time(t) : nowText;
        }
        JsonObject Cond(string type, bool status, string? reason = null)
        {
            var o = new JsonObject
            {
                ["type"] = type, ["status"] = status ? "True" : "False", ["lastProbeTime"] = null,
                ["lastTransitionTime"] = Transition(type, status),
            };
            if (reason is not null) o["reason"] = reason;
            return o;
        }
        var done = phase != "Running";
        var conditions = new JsonArray(
            Cond("PodScheduled", true),
            Cond("Initialized", true, done ? "PodCompleted" : null),
            Cond("ContainersReady", containersReady, done ? "PodCompleted" : containersReady ? null : "ContainersNotReady"),
            Cond("Ready", ready, done ? "PodCompleted" : ready ? null : containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady"));
        var patch = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = phase,
                ["hostIP"] = "127.0.0.1",
                ["podIP"] = rt.Ip.ToString(),
                ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = rt.Ip.ToString() }),
                ["startTime"] = Time(rt.Started),
                ["conditions"] = conditions,
                ["containerStatuses"] = containers,
            },
        };
        await _client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch),
            name, ns, cancellationToken: ct);
    }

    private static (string?, string?, bool, bool, int) Observed(V1Pod pod)
    {
        bool Is(string type) => pod.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;
        return (pod.Status?.Phase, pod.Status?.PodIP, Is("ContainersReady"), Is("Ready"), pod.Status?.ContainerStatuses?.FirstOrDefault()?.RestartCount ?? 0);
    }

    private PodRuntime StartRuntime(V1Pod pod)
    {
        var isJob = pod.Metadata.OwnerReferences?.Any(o => o.Kind == "Job") == true || pod.Spec.RestartPolicy is "Never" or "OnFailure";
        // A pod that already has an IP (the simulator restarted) keeps it: podIPs may hold only one.
        var ip = IPAddress.TryParse(pod.Status?.PodIP, out var existing) && existing.GetAddressBytes()[0] == 127 ? existing : _ips.Take();
        var rt = new PodRuntime(ip, DateTime.UtcNow, isJob);
        if (isJob)
        {
            pod.Metadata.Annotations ??= new Dictionary<string, string>();
            pod.Metadata.Annotations.TryGetValue(Annotations.Duration, out var duration);
            pod.Metadata.Annotations.TryGetValue(Annotations.ExitCode, out var exit);
            rt.JobDue = rt.Started + Annotations.ParseDuration(duration, TimeSpan.FromSeconds(1));
            rt.ExitCode = int.TryParse(exit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : 0;
        }
        foreach (var port in PortsOf(pod))
        {
            var (ns, name) = (pod.Metadata.NamespaceProperty, pod.Metadata.Name);
            try
            {
                rt.Endpoints.Add(new PodEndpoint(ip, port, () => rt.Fault is "unready" or "http-fail" or "crash", () => rt.Fault == "hang",
                    failing => Answered?.Invoke(ns, name, failing)));
            }
            catch (Exception ex) { _log.LogWarning("pod {Pod}: cannot listen on {Ip}:{Port}: {Error}", pod.Metadata.Name, ip, port, ex.Message); }
        }
        return rt;
    }

    private static IEnumerable<int> PortsOf(V1Pod pod)
    {
        var ports = new HashSet<int>();
        foreach (var c in pod.Spec.Containers)
        {
            foreach (var p in c.Ports ?? []) ports.Add(p.ContainerPort);
            foreach (var probe in new[] { c.ReadinessProbe, c.LivenessProbe, c.StartupProbe })
            {
                var port = probe?.HttpGet?.Port?.Value ?? probe?.TcpSocket?.Port?.Value;
                if (port is null) continue;
                if (int.TryParse(port, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) ports.Add(n);
                else if (c.Ports?.FirstOrDefault(p => p.Name == port) is { } named) ports.Add(named.ContainerPort);
            }
        }
        return ports;
    }

    private string? FaultOf(V1Pod pod)
    {
        foreach (var (key, (selector, fault)) in _faults)
            if (key.StartsWith(pod.Metadata.NamespaceProperty + "/", StringComparison.Ordinal) && Matches(selector, pod.Metadata.Labels)) return fault;
        return null;
    }

    private static bool Matches(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string Now() => Time(DateTime.UtcNow);

    private static string Time(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private sealed class PodRuntime(IPAddress ip, DateTime started, bool isJob) : IDisposable
    {
        public IPAddress Ip { get; } = ip;
        public DateTime Started { get; } = started;
        public bool IsJob { get; } = isJob;
        public DateTime? JobDue { get; set; }
        public bool JobDone { get; set; }
        public int ExitCode { get; set; }
        public volatile string? Fault;
        public DateTime? CrashSince { get; set; }
        public DateTime NextCrash { get; set; }
        public int Restarts { get; set; }
        public List<PodEndpoint> Endpoints { get; } = [];

        public void Dispose()
        {
            foreach (var e in Endpoints) e.Dispose();
            Endpoints.Clear();
        }
    }

    /// <summary>Pod IPs in 127.N.0.0/16, never 127.0.0.1; freed addresses are reused last.</summary>
    private sealed class IpPool(byte network)
    {
        private readonly Lock _lock = new();
        private readonly Queue<uint> _free = new();
        private uint _next = (127u << 24) | ((uint)Math.Clamp((int)network, 1, 254) << 16) | 2u;
        private readonly uint _end = (127u << 24) | (((uint)Math.Clamp((int)network, 1, 254) + 1) << 16);

        public IPAddress Take()
        {
            lock (_lock)
            {
                // Prefer fresh addresses so a reused IP does not meet a lingering socket.
                uint value;
                if (_next < _end) value = _next++;
                else value = _free.Dequeue();
                if ((value & 0xFF) is 0 or 255) return Take();
                return new IPAddress(new[] { (byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value });
            }
        }

        public void Release(IPAddress ip)
        {
            var b = ip.GetAddressBytes();
            lock (_lock) _free.Enqueue(((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3]);
        }
    }
}
