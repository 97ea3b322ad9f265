using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Policy;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Health;

/// <summary>
/// Runs every policy's health checks on its own interval, beside the work queue: reads pods
/// from the cache, probes ready pods over HTTP or TCP with bounded concurrency through one shared
/// HttpClient, folds results into verdicts, and enqueues the policy only when a verdict changes.
/// In ActiveActive mode it also sets each pod's `resilience.dev/healthy` readiness gate — except
/// for a DryRun policy, where it only records the writes it would make (<see cref="PlannedGates"/>).
/// </summary>
internal sealed class HealthProber(
    Store<ResiliencePolicy> policies,
    Store<V1Deployment> deployments,
    Store<V1Pod> pods,
    Action<ObjectKey> enqueue,
    IPodGateWriter gateWriter,
    TimeProvider time,
    ILogger logger,
    int maxConcurrentProbes = 64) : IDisposable
{
    private static readonly Gauge TargetHealthy = Metrics.CreateGauge("resilience_target_healthy",
        "1 when the target passes its health checks, 0 otherwise.", "namespace", "policy", "target");
    private static readonly Histogram ProbeSeconds = Metrics.CreateHistogram("resilience_probe_duration_seconds",
        "Duration of one HTTP or TCP probe of one pod.",
        new HistogramConfiguration { LabelNames = ["namespace", "policy", "result"], Buckets = Histogram.ExponentialBuckets(0.0005, 2.5, 12) });
    private static readonly Gauge LastCheck = Metrics.CreateGauge("resilience_health_check_last_timestamp_seconds",
        "Unix time of the last completed health check of the policy.", "namespace", "policy");

    private readonly ConcurrentDictionary<ObjectKey, ConcurrentDictionary<string, TargetHealth>> _health = new();
    private readonly ConcurrentDictionary<ObjectKey, DateTimeOffset> _nextDue = new();
    private readonly ConcurrentDictionary<ObjectKey, byte> _running = new();
    private readonly ConcurrentDictionary<ObjectKey, IReadOnlyList<PodGateAction>> _plannedGates = new();
    private readonly SemaphoreSlim _probeSlots = new(maxConcurrentProbes);
    private int _term;
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(30),
    }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The verdicts of a policy's targets (empty until checked).</summary>
    public IReadOnlyDictionary<string, TargetHealth> Snapshot(ObjectKey key) =>
        _health.TryGetValue(key, out var h) ? new Dictionary<string, TargetHealth>(h) : new Dictionary<string, TargetHealth>();

    /// <summary>DryRun, ActiveActive: the readiness-gate conditions the last check would have written.</summary>
    public IReadOnlyList<PodGateAction> PlannedGates(ObjectKey key) => _plannedGates.TryGetValue(key, out var g) ? g : [];

    /// <summary>Asks for a check as soon as possible (a new or changed policy).</summary>
    public void CheckSoon(ObjectKey key) => _nextDue[key] = DateTimeOffset.MinValue;

    public void Forget(ObjectKey key)
    {
        _health.TryRemove(key, out _);
        _nextDue.TryRemove(key, out _);
        // A deleted or invalid policy's targets are no longer judged: their series go too.
        foreach (var labels in TargetHealthy.GetAllLabelValues().Where(l => l[0] == key.Namespace && l[1] == key.Name).ToList())
            TargetHealthy.RemoveLabelled(labels);
        _plannedGates.TryRemove(key, out _);
    }

    /// <summary>
    /// A new leadership term: every verdict, due time and planned gate is dropped, so verdicts are
    /// re-seeded from the policies' status and re-probed; a check still running from the previous
    /// term does not store its result (see <see cref="CheckPolicyAsync"/>).
    /// </summary>
    public void ResetTerm()
    {
        Interlocked.Increment(ref _term);
        _health.Clear();
        _nextDue.Clear();
        _plannedGates.Clear();
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            foreach (var policy in policies.List())
            {
                var key = ObjectKey.Of(policy);
                if (policy.Metadata.DeletionTimestamp is not null) continue;
                if (_nextDue.TryGetValue(key, out var due) && due > now) continue;
                var (spec, error) = EffectiveSpec.From(policy.Spec);
                if (spec is null || error is not null) { _nextDue[key] = now + TimeSpan.FromSeconds(30); continue; }
                if (!_running.TryAdd(key, 0)) continue;
                _nextDue[key] = now + spec.Interval;
                _ = Task.Run(async () =>
                {
                    try { await CheckPolicyAsync(policy, spec, key, ct); }
                    catch (Exception ex) when (!ct.IsCancellationRequested) { logger.LogWarning(ex, "health check of {Policy} failed", key); }
                    catch (Exception) when (ct.IsCancellationRequested) { /* shutting down */ }
                    finally { _running.TryRemove(key, out _); }
                }, CancellationToken.None);
            }
            // Drop state of policies that are gone.
            foreach (var key in _health.Keys) if (policies.Get(key) is null) Forget(key);
            try { await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct); } catch (OperationCanceledException) { break; }
        }
        // Let checks in flight finish (they see the cancellation) before anything is disposed.
        for (var i = 0; i < 100 && !_running.IsEmpty; i++) await Task.Delay(50, CancellationToken.None);
    }

    private async Task CheckPolicyAsync(ResiliencePolicy policy, EffectiveSpec spec, ObjectKey key, CancellationToken ct)
    {
        var term = Volatile.Read(ref _term);
        var dryRun = policy.Spec.Enforcement == EnforcementMode.DryRun ? new ConcurrentBag<PodGateAction>() : null;
        var results = await Task.WhenAll(spec.Targets.Select(t => CheckTargetAsync(policy, spec, t.Name, dryRun, ct)));
        // Probed in a previous term: its results must not drive a decision in this one.
        if (term != Volatile.Read(ref _term)) return;
        var state = _health.GetOrAdd(key, _ => Seed(policy));
        var now = time.GetUtcNow().UtcDateTime;
        var changed = false;
        for (var i = 0; i < spec.Targets.Count; i++)
        {
            var name = spec.Targets[i].Name;
            state.TryGetValue(name, out var previous);
            var next = TargetHealth.Next(previous, results[i], spec.Retries, spec.SuccessThreshold, now);
            state[name] = next;
            TargetHealthy.WithLabels(key.Namespace, key.Name, name).Set(next.Healthy ? 1 : 0);
            if (next.DiffersForStatus(previous))
            {
                changed = true;
                if (previous is not null && previous.Healthy != next.Healthy)
                    logger.LogInformation("{Policy}: target {Target} is now {Verdict} ({Message})", key, name, next.Healthy ? "healthy" : "unhealthy", next.Message);
            }
        }
        foreach (var stale in state.Keys.Where(n => spec.Targets.All(t => t.Name != n)).ToList()) state.TryRemove(stale, out _);
        IReadOnlyList<PodGateAction> gates = dryRun is null ? [] : [.. dryRun.OrderBy(g => g.Pod, StringComparer.Ordinal)];
        if (!PlannedGates(key).SequenceEqual(gates))
        {
            changed = true;
            if (gates.Count == 0) _plannedGates.TryRemove(key, out _); else _plannedGates[key] = gates;
        }
        LastCheck.WithLabels(key.Namespace, key.Name).Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        if (changed) enqueue(key);
    }

    /// <summary>After a restart the verdicts come back from status, so a failover in progress is not repeated.</summary>
    private static ConcurrentDictionary<string, TargetHealth> Seed(ResiliencePolicy policy)
    {
        var seeded = new ConcurrentDictionary<string, TargetHealth>();
        foreach (var t in policy.Status?.Targets ?? [])
        {
            if (t.LastTransitionTime is not { } since) continue;
            var cold = t.Message?.StartsWith("cold standby", StringComparison.Ordinal) == true;
            seeded[t.Name] = new TargetHealth(t.Healthy, t.ConsecutiveFailures, t.Healthy ? 1 : 0,
                t.Healthy ? null : since, since, t.DesiredReplicas, t.ReadyReplicas, t.Message ?? "", cold)
            {
                // An open incident says the target failed; without one it was starting or scaled down.
                Failed = !t.Healthy && !cold && policy.Status?.Incidents?.Any(i => i.Target == t.Name) == true,
            };
        }
        return seeded;
    }

    private async Task<CheckResult> CheckTargetAsync(ResiliencePolicy policy, EffectiveSpec spec, string target, ConcurrentBag<PodGateAction>? dryRun, CancellationToken ct)
    {
        var ns = policy.Metadata.NamespaceProperty;
        var deployment = deployments.Get(ns, target);
        if (deployment is null) return new CheckResult(false, 0, 0, 0, $"Deployment {target} not found");
        var desired = deployment.Spec.Replicas ?? 1;
        var selector = deployment.Spec.Selector?.MatchLabels;
        if (selector is null || selector.Count == 0) return new CheckResult(false, desired, 0, 0, "Deployment has no matchLabels");
        var activeActive = spec.Mode == ResilienceMode.ActiveActive;
        var targetPods = pods.ByIndex(Store<V1Pod>.NamespaceIndex, ns)
            .Where(p => p.Metadata.DeletionTimestamp is null && Matches(selector, p.Metadata.Labels))
            .ToList();
        // In ActiveActive mode Ready depends on our own gate, so containers' readiness is what we judge.
        var ready = targetPods.Where(p => HasCondition(p, activeActive ? "ContainersReady" : "Ready") && !string.IsNullOrEmpty(p.Status?.PodIP)).ToList();
        if (desired == 0)
        {
            if (activeActive) await WriteGatesAsync(target, targetPods, ready, dryRun, ct);
            return new CheckResult(false, 0, ready.Count, 0, "scaled to zero", Cold: true);
        }
        var required = (int)Math.Ceiling(desired * spec.MinReadyPercent / 100.0);
        var passing = ready;
        string? probeError = null;
        if (spec.Http is not null || spec.Tcp is not null)
        {
            var outcomes = await Task.WhenAll(ready.Select(p => ProbeAsync(policy, spec, p, ct)));
            passing = [.. ready.Where((_, i) => outcomes[i] is null)];
            probeError = outcomes.FirstOrDefault(o => o is not null);
        }
        if (activeActive) await WriteGatesAsync(target, targetPods, passing, dryRun, ct);
        var passed = passing.Count >= required;
        string message;
        if (passed) message = $"{passing.Count}/{desired} pods pass";
        else if (probeError is not null) message = $"{passing.Count}/{desired} pods pass, need {required}: {probeError}";
        else message = $"{ready.Count}/{desired} pods ready, need {required}";
        return new CheckResult(passed, desired, ready.Count, passing.Count, message);
    }

    private async Task<string?> ProbeAsync(ResiliencePolicy policy, EffectiveSpec spec, V1Pod pod, CancellationToken ct)
    {
        await _probeSlots.WaitAsync(ct);
        var sw = Stopwatch.StartNew();
        string? error = null;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(spec.Timeout);
            var ip = pod.Status.PodIP;
            if (spec.Http is { } http)
            {
                using var response = await _http.GetAsync(new Uri($"http://{ip}:{http.Port}{http.Path}"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var code = (int)response.StatusCode;
                if (code is < 200 or >= 400) error = $"HTTP {code} from {ip}:{http.Port}{http.Path}";
            }
            else if (spec.Tcp is { } tcp)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(System.Net.IPAddress.Parse(ip), tcp.Port, cts.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = $"no answer from {pod.Status.PodIP} within {GoDuration.Format(spec.Timeout)}";
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or FormatException)
        {
            error = $"{pod.Status.PodIP}: {ex.Message}";
        }
        finally
        {
            _probeSlots.Release();
        }
        ProbeSeconds.WithLabels(policy.Metadata.NamespaceProperty, policy.Metadata.Name, error is null ? "success" : "failure").Observe(sw.Elapsed.TotalSeconds);
        return error;
    }

    private async Task WriteGatesAsync(string target, IReadOnlyList<V1Pod> all, IReadOnlyList<V1Pod> passing, ConcurrentBag<PodGateAction>? dryRun, CancellationToken ct)
    {
        var pass = passing.Select(p => p.Metadata.Name).ToHashSet();
        foreach (var pod in all)
        {
            if (pod.Spec.ReadinessGates?.Any(g => g.ConditionType == PolicyPlanner.ReadinessGate) != true) continue;
            var want = pass.Contains(pod.Metadata.Name);
            var current = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == PolicyPlanner.ReadinessGate)?.Status;
            if (current == (want ? "True" : "False")) continue;
            if (dryRun is not null) dryRun.Add(new PodGateAction(pod.Metadata.Name, target, want));
            else await gateWriter.SetAsync(pod, want, ct);
        }
    }

    internal static bool Matches(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static bool HasCondition(V1Pod p, string type) => p.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;

    public void Dispose()
    {
        _http.Dispose();
        _probeSlots.Dispose();
    }
}

/// <summary>Sets the `resilience.dev/healthy` condition on a pod.</summary>
internal interface IPodGateWriter
{
    Task SetAsync(V1Pod pod, bool healthy, CancellationToken ct);
}
