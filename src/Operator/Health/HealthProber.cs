using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
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
    int maxConcurrentProbes = 64,
    int maxProbesPerTarget = 16,
    ObserverGuard<ObjectKey>? guard = null,
    Store<V1StatefulSet>? statefulSets = null,
    Func<TimeSpan>? runtimePauses = null) : IDisposable
{
    private static readonly PolicySeries TargetHealthy = new("resilience_target_healthy",
        "1 when the target passes its health checks, 0 otherwise.", extraLabel: "target");
    // The histogram is per namespace: per policy it would be 30 series each (12 buckets, two
    // results), 300,000 at 10,000 policies. The count per policy is the counter below.
    private static readonly Histogram ProbeSeconds = Metrics.CreateHistogram("resilience_probe_duration_seconds",
        "Duration of one HTTP or TCP probe of one pod.",
        new HistogramConfiguration { LabelNames = ["namespace", "result"], Buckets = Histogram.ExponentialBuckets(0.0005, 2.5, 12) });
    private static readonly PolicySeries Probes = new("resilience_probes_total",
        "HTTP or TCP probes of the policy's pods, by result.", counter: true, extraLabel: "result");
    private static readonly string[] ProbeResults = ["success", "failure"];
    private static readonly Counter RepeatedProbes = Metrics.CreateCounter("resilience_probes_repeated_total",
        "Probes that timed out while the operator itself stood still (a garbage collection's pause, a timer firing late) and were repeated at once.");
    private static readonly Histogram CheckStartDelay = Metrics.CreateHistogram("resilience_health_check_start_delay_seconds",
        "How long after its due time a scheduled health check started (a check asked for at once is not counted).",
        new HistogramConfiguration { Buckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    private static readonly Gauge ChecksInFlight = Metrics.CreateGauge("resilience_health_checks_in_flight",
        "Health checks running now: at most twice the probe slots run at once.");
    private static readonly Counter PassesAtLimit = Metrics.CreateCounter("resilience_health_check_passes_at_limit_total",
        "Passes of the health check loop (every 50 ms) that left due checks waiting because the most checks allowed at once were running.");
    private static readonly Histogram ProbeSlotWait = Metrics.CreateHistogram("resilience_probe_slot_wait_seconds",
        "How long a probe waited for a free probe slot (its target's share, then a shared one) before it was sent; the wait counts against its timeout.",
        new HistogramConfiguration { Buckets = [0.001, 0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
    /// <summary>How long this process's garbage collector has paused it since it started.</summary>
    private readonly Func<TimeSpan> _runtimePauses = runtimePauses ?? GC.GetTotalPauseDuration;
    private static readonly PolicySeries LastCheck = new("resilience_health_check_last_timestamp_seconds",
        "Unix time of the last completed health check of the policy.");

    /// <summary>
    /// The verdicts per policy. Each map is never changed once stored (a check stores a new one),
    /// so readers share it without a lock; a map per policy costs a fraction of a concurrent one.
    /// </summary>
    private readonly ConcurrentDictionary<ObjectKey, Dictionary<string, TargetHealth>> _health = new();
    private static readonly Gauge ObserverSuspectGauge = Metrics.CreateGauge("resilience_observer_suspect",
        "1 while so many targets turned failing at once that the operator suspects its own view and holds failovers.");
    private static readonly Gauge FailingShare = Metrics.CreateGauge("resilience_observer_failing_share",
        "Share of all checked targets that are failing and turned failing within the observer-suspect window.");

    private readonly ObserverGuard<ObjectKey> _guard = guard ?? new ObserverGuard<ObjectKey>();
    private readonly ConcurrentDictionary<ObjectKey, DateTimeOffset> _nextDue = new();
    /// <summary>
    /// The due times in order: a pass of the loop looks only at the checks that are due, not at
    /// every policy. An entry whose time no longer equals <see cref="_nextDue"/> is stale and skipped.
    /// </summary>
    private readonly PriorityQueue<ObjectKey, DateTimeOffset> _dueQueue = new();
    private readonly Lock _dueLock = new();
    private DateTimeOffset _nextSweep;
    private readonly ConcurrentDictionary<ObjectKey, byte> _running = new();
    /// <summary>Policies the reconciler found invalid: never checked, never enqueued by the prober.</summary>
    private readonly ConcurrentDictionary<ObjectKey, byte> _parked = new();
    private int _checksStarted;
    private int _passesAtLimit;
    private readonly ConcurrentDictionary<ObjectKey, IReadOnlyList<PodGateAction>> _plannedGates = new();
    private readonly SemaphoreSlim _probeSlots = new(maxConcurrentProbes);
    private int _term;
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        // A lifetime of zero closes each connection after its one probe (see ProbeAsync).
        UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.Zero,
        ConnectTimeout = TimeSpan.FromSeconds(30),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The verdicts of a policy's targets (empty until checked).</summary>
    public IReadOnlyDictionary<string, TargetHealth> Snapshot(ObjectKey key) =>
        _health.TryGetValue(key, out var h) ? new Dictionary<string, TargetHealth>(h) : new Dictionary<string, TargetHealth>();

    /// <summary>
    /// The verdicts a reconcile plans with: before this process (or term) has checked the policy,
    /// the ones its status records, taken over as seeded verdicts (which never move traffic). A
    /// reconcile right after a restart then plans the status it finds and writes nothing, instead
    /// of "not checked yet" followed by the same verdicts again with new transition times.
    /// </summary>
    public IReadOnlyDictionary<string, TargetHealth> Verdicts(ResiliencePolicy policy)
    {
        var key = ObjectKey.Of(policy);
        if (_parked.ContainsKey(key)) return Snapshot(key);
        return new Dictionary<string, TargetHealth>(_health.GetOrAdd(key, _ => Seed(policy)));
    }

    /// <summary>Why the operator doubts its own view (see <see cref="ObserverGuard"/>), or null when it does not.</summary>
    public string? ObserverSuspect => _guard.State.Message;

    /// <summary>DryRun, ActiveActive: the readiness-gate conditions the last check would have written.</summary>
    public IReadOnlyList<PodGateAction> PlannedGates(ObjectKey key) => _plannedGates.TryGetValue(key, out var g) ? g : [];

    /// <summary>
    /// Asks for a check as soon as possible (a changed policy). Only a policy the reconciler has
    /// found valid in this term is checked at all: a new one waits for its first reconcile (which
    /// <see cref="Resume"/>s it), so a policy the reconciler will find invalid is never probed, and
    /// one it found invalid stays parked.
    /// </summary>
    public void CheckSoon(ObjectKey key)
    {
        if (!_parked.ContainsKey(key) && _nextDue.ContainsKey(key)) SetDue(key, DateTimeOffset.MinValue);
    }

    /// <summary>
    /// The reconciler found the policy valid: checks it from now on when it is not scheduled yet,
    /// at once when it is new (or was invalid), within one interval when its status already holds
    /// verdicts (see <see cref="FirstDue"/>).
    /// </summary>
    public void Resume(ObjectKey key)
    {
        var wasParked = _parked.TryRemove(key, out _);
        if (wasParked) SetDue(key, DateTimeOffset.MinValue);
        else if (!_nextDue.ContainsKey(key)) SetDue(key, FirstDue(key));
    }

    /// <summary>
    /// After a restart or in a new term every policy comes back at once. One that a process
    /// checked before keeps the verdicts its status records (seeded) until its first check, and
    /// that check is spread at random over one interval, as the kubelet spreads its probe workers'
    /// first probes after a restart: checking every policy at once queued thousands of probes
    /// behind a few slots while the caches were relisted, failed them on their timeout, and wrote
    /// those failures to status. A target that failed meanwhile is found at most one interval
    /// later than the previous process would have found it.
    /// </summary>
    private DateTimeOffset FirstDue(ObjectKey key)
    {
        if (policies.Get(key) is not { } policy || policy.Status?.Targets?.Any(t => t.LastTransitionTime is not null) != true)
            return DateTimeOffset.MinValue;
        var (spec, error) = EffectiveSpec.From(policy.Spec);
        if (spec is null || error is not null) return DateTimeOffset.MinValue;
        return time.GetUtcNow() + spec.Interval * (1 - Random.Shared.NextDouble());
    }

    private void SetDue(ObjectKey key, DateTimeOffset due)
    {
        lock (_dueLock)
        {
            _nextDue[key] = due;
            _dueQueue.Enqueue(key, due);
        }
    }

    /// <summary>
    /// The policy is invalid or deleted: its verdicts and series go, and it is not checked again
    /// until <see cref="Resume"/>. Checking it would find "no previous verdict", count that as a
    /// change and enqueue it, and the reconcile would find it invalid again: a loop at full speed.
    /// An invalid policy is looked at again only when it or an object it names changes (watch events).
    /// </summary>
    public void Forget(ObjectKey key)
    {
        _parked[key] = 0;
        Drop(key);
    }

    private void Drop(ObjectKey key)
    {
        _health.TryRemove(key, out _);
        _nextDue.TryRemove(key, out _);
        // A deleted or invalid policy's targets are no longer judged: their series go too.
        TargetHealthy.RemovePolicy(key.Namespace, key.Name);
        LastCheck.Remove(key.Namespace, key.Name);
        Probes.RemovePolicy(key.Namespace, key.Name);
        _plannedGates.TryRemove(key, out _);
        _guard.Forget(key);
    }

    private void SweepGone<TValue>(ConcurrentDictionary<ObjectKey, TValue> state)
    {
        foreach (var (key, _) in state)
        {
            if (policies.Get(key) is not null) continue;
            Drop(key);
            _parked.TryRemove(key, out _);
        }
    }

    /// <summary>Passes of the loop since the prober was made that left due checks waiting at the in-flight limit.</summary>
    internal int PassesHeldAtLimit => Volatile.Read(ref _passesAtLimit);

    /// <summary>Checks started since the prober was made (for tests: what an invalid policy costs).</summary>
    internal int ChecksStarted => Volatile.Read(ref _checksStarted);

    /// <summary>
    /// A new leadership term: every verdict, due time and planned gate is dropped, so verdicts are
    /// re-seeded from the policies' status and re-probed; a check still running from the previous
    /// term does not store its result (see <see cref="CheckPolicyAsync"/>).
    /// </summary>
    public void ResetTerm()
    {
        Interlocked.Increment(ref _term);
        _health.Clear();
        lock (_dueLock)
        {
            _nextDue.Clear();
            _dueQueue.Clear();
        }
        _plannedGates.Clear();
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Tick(ct);
            try { await Task.Delay(LoopPeriod, time, ct); } catch (OperationCanceledException) { break; }
        }
        // Let checks in flight finish (they see the cancellation) before anything is disposed.
        for (var i = 0; i < 100 && !_running.IsEmpty; i++) await Task.Delay(50, CancellationToken.None);
    }

    /// <summary>One pass of the loop: starts the checks that are due, returns them (tests await them).</summary>
    internal IReadOnlyList<Task> Tick(CancellationToken ct = default)
    {
        var started = new List<Task>();
        var now = time.GetUtcNow();
        foreach (var (key, due) in TakeDue(now))
        {
            var policy = policies.Get(key);
            // Deleted: its state goes at the next sweep.
            if (policy is null || policy.Metadata.DeletionTimestamp is not null || _parked.ContainsKey(key)) continue;
            var (spec, error) = EffectiveSpec.From(policy.Spec);
            // Nothing to check; looked at again later only to notice a fix before the reconciler parks it.
            if (spec is null || error is not null) { SetDue(key, now + TimeSpan.FromSeconds(30)); continue; }
            // Still running from its last due time: looked at again on the next pass.
            if (!_running.TryAdd(key, 0)) { SetDue(key, now + LoopPeriod); continue; }
            if (due != DateTimeOffset.MinValue) CheckStartDelay.Observe((now - due).TotalSeconds);
            SetDue(key, NextDue(due, now, spec.Interval));
            Interlocked.Increment(ref _checksStarted);
            started.Add(Task.Run(async () =>
            {
                try { await CheckPolicyAsync(policy, spec, key, ct); }
                catch (Exception ex) when (!ct.IsCancellationRequested) { logger.LogWarning(ex, "health check of {Policy} failed", key); }
                catch (Exception) when (ct.IsCancellationRequested) { /* shutting down */ }
                finally { _running.TryRemove(key, out _); }
            }, CancellationToken.None));
        }
        ChecksInFlight.Set(_running.Count);
        if (now >= _nextSweep)
        {
            // State of policies that are gone: looked for now and then, not on every pass.
            _nextSweep = now + SweepPeriod;
            // Enumerated in place (safe alongside changes): copies of these keys were three arrays of 10,000
            // entries every sweep at that many policies, large objects only a full collection takes back.
            SweepGone(_health);
            SweepGone(_nextDue);
            SweepGone(_parked);
        }
        // Also without new checks: a suspicion ends when its window has passed.
        EvaluateGuard(now);
        return started;
    }

    /// <summary>
    /// The policies due at <paramref name="now"/>, each once, taken off the queue — no more than
    /// leave <see cref="MaxChecksInFlight"/> checks running. After a start or a new term every
    /// policy is due at once; started together, thousands of probes would queue for the probe
    /// slots and fail their timeouts for want of a slot, a failure the operator made itself. The
    /// rest stay due, oldest first, for the next passes.
    /// </summary>
    private List<(ObjectKey Key, DateTimeOffset Due)> TakeDue(DateTimeOffset now)
    {
        var due = new List<(ObjectKey, DateTimeOffset)>();
        var seen = new HashSet<ObjectKey>();
        var room = MaxChecksInFlight - _running.Count;
        lock (_dueLock)
        {
            while (due.Count < room && _dueQueue.TryPeek(out var key, out var at) && at <= now)
            {
                _dueQueue.Dequeue();
                // A stale entry: the policy was rescheduled (or dropped) after this one was queued.
                if (_nextDue.TryGetValue(key, out var current) && current == at && seen.Add(key)) due.Add((key, at));
            }
            if (due.Count >= room && _dueQueue.TryPeek(out _, out var next) && next <= now)
            {
                PassesAtLimit.Inc();
                Interlocked.Increment(ref _passesAtLimit);
            }
        }
        return due;
    }

    /// <summary>
    /// When a check that was due at <paramref name="due"/> and starts at <paramref name="now"/> is due next: one
    /// interval after its due time, not after its start, as a ticker keeps its beat. A check that starts late then
    /// does not also delay every later one, and the worst case from a fault to a switch holds one start's lag, not
    /// one per check it takes. A check asked for at once, or more than half an interval late (the operator was
    /// stopped, or could not keep up), starts a new beat one interval from now: never two checks within half an interval.
    /// </summary>
    internal static DateTimeOffset NextDue(DateTimeOffset due, DateTimeOffset now, TimeSpan interval) =>
        due != DateTimeOffset.MinValue && now - due <= interval / 2 ? due + interval : now + interval;

    private static readonly TimeSpan LoopPeriod = TimeSpan.FromMilliseconds(50);
    /// <summary>Policy checks running at once: enough for 10,000 policies at a 10 s interval (2,560 may start per second).</summary>
    private int MaxChecksInFlight => 2 * maxConcurrentProbes;
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(10);

    private async Task CheckPolicyAsync(ResiliencePolicy policy, EffectiveSpec spec, ObjectKey key, CancellationToken ct)
    {
        var term = Volatile.Read(ref _term);
        var dryRun = policy.Spec.Enforcement == EnforcementMode.DryRun ? new ConcurrentBag<PodGateAction>() : null;
        var results = await Task.WhenAll(spec.Targets.Select(t => CheckTargetAsync(policy, spec, t.Name, dryRun, ct)));
        // Found invalid while this check ran: its result would only bring back what was forgotten.
        if (_parked.ContainsKey(key)) return;
        // Probed in a previous term: its results must not drive a decision in this one.
        if (term != Volatile.Read(ref _term)) return;
        var seen = _health.GetOrAdd(key, _ => Seed(policy));
        var state = new Dictionary<string, TargetHealth>(spec.Targets.Count, StringComparer.Ordinal);
        var checkedAt = time.GetUtcNow();
        var now = checkedAt.UtcDateTime;
        var changed = false;
        // Long enough for a failure to become a verdict, plus one interval of phase between policies.
        var window = spec.Interval * (spec.Retries + 1);
        for (var i = 0; i < spec.Targets.Count; i++)
        {
            var name = spec.Targets[i].Name;
            seen.TryGetValue(name, out var previous);
            // A cold standby is neither passing nor failing: the guard does not count it.
            if (results[i].Cold) _guard.Remove(key, name);
            else _guard.Record(key, name, results[i].Passed, previous?.Healthy == true, checkedAt, window);
            var next = TargetHealth.Next(previous, results[i], spec.Retries, spec.SuccessThreshold, now);
            state[name] = next;
            TargetHealthy.Set(key.Namespace, key.Name, name, next.Healthy ? 1 : 0);
            if (next.DiffersForStatus(previous))
            {
                changed = true;
                if (previous is not null && previous.Healthy != next.Healthy)
                    logger.LogInformation("{Policy}: target {Target} is now {Verdict} ({Message})",
                        key, name, next.Healthy ? "healthy" : "unhealthy", next.Message);
            }
        }
        // Dropped or forgotten while this check ran (the policy was deleted or parked): nothing is kept.
        if (!_health.TryUpdate(key, state, seen)) return;
        foreach (var stale in seen.Keys.Where(n => !state.ContainsKey(n))) _guard.Remove(key, stale);
        IReadOnlyList<PodGateAction> gates = dryRun is null ? [] : [.. dryRun.OrderBy(g => g.Pod, StringComparer.Ordinal)];
        if (!PlannedGates(key).SequenceEqual(gates))
        {
            changed = true;
            if (gates.Count == 0) _plannedGates.TryRemove(key, out _); else _plannedGates[key] = gates;
        }
        LastCheck.Set(key.Namespace, key.Name, time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        // Before the enqueue: the reconcile of a verdict that just flipped must see the suspicion it caused.
        EvaluateGuard(checkedAt);
        if (changed) enqueue(key);
    }

    private void EvaluateGuard(DateTimeOffset now)
    {
        var (state, turned) = _guard.Evaluate(now);
        ObserverSuspectGauge.Set(state.Suspect ? 1 : 0);
        FailingShare.Set(state.Share);
        if (!turned) return;
        if (state.Suspect)
        {
            logger.LogWarning("observer suspect, failovers held: {Why}", state.Message);
            return;
        }
        logger.LogInformation("observer no longer suspect: {TurnedFailing} of {Checked} checked targets ({Share}) turned failing " +
            "within {Window}; failover decisions resume",
            state.TurnedFailing, state.Checked, ObserverState.Percent(state.Share), GoDuration.Format(state.Window));
        // A failover held meanwhile is decided now, not at the next verdict change.
        foreach (var policy in _guard.Policies()) enqueue(policy);
    }

    /// <summary>After a restart the verdicts come back from status, so a failover in progress is not repeated.</summary>
    private static Dictionary<string, TargetHealth> Seed(ResiliencePolicy policy)
    {
        var seeded = new Dictionary<string, TargetHealth>(StringComparer.Ordinal);
        foreach (var t in policy.Status?.Targets ?? [])
        {
            if (t.LastTransitionTime is not { } since) continue;
            var cold = ColdStandby.Of(t);
            seeded[t.Name] = new TargetHealth(t.Healthy, t.ConsecutiveFailures, t.Healthy ? 1 : 0,
                cold ? null : t.FirstFailureTime ?? (t.Healthy ? null : since), since, t.DesiredReplicas, t.ReadyReplicas, t.Message ?? "", cold)
            {
                // An open incident says the target failed; without one it was starting or scaled down.
                Failed = !t.Healthy && !cold && policy.Status?.Incidents?.Any(i => i.Target == t.Name) == true,
                Seeded = true,
            };
        }
        return seeded;
    }

    private async Task<CheckResult> CheckTargetAsync(ResiliencePolicy policy, EffectiveSpec spec, string target,
        ConcurrentBag<PodGateAction>? dryRun, CancellationToken ct)
    {
        var ns = policy.Metadata.NamespaceProperty;
        var kind = spec.Targets.FirstOrDefault(t => t.Name == target)?.Kind ?? WorkloadKind.Deployment;
        var deployment = kind == WorkloadKind.StatefulSet
            ? statefulSets?.Get(ns, target) is { } set ? Workloads.View(set) : null
            : deployments.Get(ns, target);
        if (deployment is null) return new CheckResult(false, 0, 0, 0, $"{kind} {target} not found");
        var desired = deployment.Spec.Replicas ?? 1;
        var selector = deployment.Spec.Selector?.MatchLabels;
        if (selector is null || selector.Count == 0) return new CheckResult(false, desired, 0, 0, $"{kind} has no matchLabels");
        var activeActive = spec.Mode == ResilienceMode.ActiveActive;
        var targetPods = LabelIndex.Matching(pods, ns, selector).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        // In ActiveActive mode Ready depends on our own gate, so containers' readiness is what we judge.
        var ready = targetPods.Where(p => HasCondition(p, activeActive ? "ContainersReady" : "Ready") && !string.IsNullOrEmpty(p.Status?.PodIP)).ToList();
        if (desired == 0)
        {
            if (activeActive) await WriteGatesAsync(ObjectKey.Of(policy), target, targetPods, ready, dryRun, ct);
            return new CheckResult(false, 0, ready.Count, 0, "scaled to zero", Cold: true);
        }
        var required = (int)Math.Ceiling(desired * spec.MinReadyPercent / 100.0);
        var passing = ready;
        string? probeError = null;
        if (spec.Http is not null || spec.Tcp is not null)
        {
            using var targetSlots = TargetSlots();
            var outcomes = await Task.WhenAll(ready.Select(p => ProbeAsync(ObjectKey.Of(policy), spec, p, ct, targetSlots)));
            passing = [.. ready.Where((_, i) => outcomes[i] is null)];
            probeError = outcomes.FirstOrDefault(o => o is not null);
        }
        if (activeActive) await WriteGatesAsync(ObjectKey.Of(policy), target, targetPods, passing, dryRun, ct);
        var passed = passing.Count >= required;
        string message;
        if (passed) message = $"{passing.Count}/{desired} pods pass";
        else if (probeError is not null) message = $"{passing.Count}/{desired} pods pass, need {required}: {probeError}";
        else message = $"{ready.Count}/{desired} pods ready, need {required}";
        return new CheckResult(passed, desired, ready.Count, passing.Count, message);
    }

    /// <summary>
    /// A share of the probe slots for one target's probes in one check, taken before a shared one: a
    /// target with many hung pods holds at most this many shared slots, so other policies, and the
    /// same policy's standby it must fail over to, still find theirs free.
    /// </summary>
    internal SemaphoreSlim TargetSlots() => new(Math.Max(1, Math.Min(maxProbesPerTarget, maxConcurrentProbes)));

    /// <summary>
    /// One HTTP or TCP probe of one pod (with its target's <see cref="TargetSlots"/>): null when it passes, else why not.
    /// A timeout the operator spent standing still itself (<see cref="StallAllowance"/>) says nothing of the pod: the
    /// probe is repeated at once, once, and the repeat's answer counts.
    /// </summary>
    internal async Task<string?> ProbeAsync(ObjectKey key, EffectiveSpec spec, V1Pod pod, CancellationToken ct, SemaphoreSlim? targetSlots = null)
    {
        var sw = Stopwatch.StartNew();
        var (error, stalled) = await ProbeOnceAsync(spec, pod, targetSlots, ct);
        if (stalled)
        {
            RepeatedProbes.Inc();
            (error, _) = await ProbeOnceAsync(spec, pod, targetSlots, ct);
        }
        var outcome = ProbeResults[error is null ? 0 : 1];
        ProbeSeconds.WithLabels(key.Namespace, outcome).Observe(sw.Elapsed.TotalSeconds);
        Probes.Inc(key.Namespace, key.Name, outcome);
        return error;
    }

    /// <summary>
    /// How much of a probe's timeout the operator may spend standing still itself before the timeout is no longer the
    /// pod's: a quarter of it, at most 100 ms. Standing still is what the garbage collector paused the process for
    /// during the probe, or how late the timeout was noticed (a starved process): a blocking collection of a large
    /// heap on two busy cores outlasted probes' 1 s timeouts whose answers had arrived meanwhile.
    /// </summary>
    internal static TimeSpan StallAllowance(TimeSpan timeout) => timeout / 4 < MaxStallAllowance ? timeout / 4 : MaxStallAllowance;

    private static readonly TimeSpan MaxStallAllowance = TimeSpan.FromMilliseconds(100);

    private async Task<(string? Error, bool Stalled)> ProbeOnceAsync(EffectiveSpec spec, V1Pod pod, SemaphoreSlim? targetSlots, CancellationToken ct)
    {
        // The timeout starts before the wait for a slot: a probe that cannot even start in time
        // fails like one that got no answer, and no hung target elsewhere stretches a check.
        using var timeout = new CancellationTokenSource(spec.Timeout, time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var started = time.GetTimestamp();
        var pausedBefore = _runtimePauses();
        var podIp = pod.Status?.PodIP;
        var holdsTargetSlot = false;
        var holdsSlot = false;
        try
        {
            if (targetSlots is not null) await targetSlots.WaitAsync(cts.Token);
            holdsTargetSlot = true;
            await _probeSlots.WaitAsync(cts.Token);
            holdsSlot = true;
            ProbeSlotWait.Observe(time.GetElapsedTime(started).TotalSeconds);
            if (!IPAddress.TryParse(podIp, out var ip)) return ($"{podIp}: not an IP address", false);
            if (spec.Http is { } http)
            {
                // An IPv6 literal goes in brackets in a URL.
                var host = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
                // One connection per probe, closed after it by both ends, as the kubelet's HTTP probes do: a
                // pooled connection per pod held two 4 KiB buffers and a socket between checks (15 MB at 1,000 policies).
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{host}:{http.Port}{http.Path}"));
                request.Headers.ConnectionClose = true;
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var code = (int)response.StatusCode;
                if (code is < 200 or >= 400) return ($"HTTP {code} from {host}:{http.Port}{http.Path}", false);
            }
            else if (spec.Tcp is { } tcp)
            {
                using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(ip, tcp.Port, cts.Token);
            }
            return (null, false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            var allowance = StallAllowance(spec.Timeout);
            var stalled = time.GetElapsedTime(started) - spec.Timeout >= allowance || _runtimePauses() - pausedBefore >= allowance;
            return (holdsSlot
                ? $"no answer from {podIp} within {GoDuration.Format(spec.Timeout)}"
                : $"{podIp} not probed: no probe slot free within {GoDuration.Format(spec.Timeout)}", stalled);
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or FormatException)
        {
            return ($"{podIp}: {ex.Message}", false);
        }
        finally
        {
            if (holdsSlot) _probeSlots.Release();
            if (holdsTargetSlot) targetSlots?.Release();
        }
    }

    private async Task WriteGatesAsync(ObjectKey key, string target, IReadOnlyList<V1Pod> all, IReadOnlyList<V1Pod> passing,
        ConcurrentBag<PodGateAction>? dryRun, CancellationToken ct)
    {
        var pass = passing.Select(p => p.Metadata.Name).ToHashSet();
        foreach (var pod in all)
        {
            if (pod.Spec.ReadinessGates?.Any(g => g.ConditionType == PodConditions.Healthy) != true) continue;
            var want = pass.Contains(pod.Metadata.Name);
            var current = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == PodConditions.Healthy)?.Status;
            if (current == (want ? "True" : "False")) continue;
            if (dryRun is not null) { dryRun.Add(new PodGateAction(pod.Metadata.Name, target, want)); continue; }
            try
            {
                await gateWriter.SetAsync(pod, want, ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // A conflict or a missing permission must not cost the verdict: the next check
                // finds the condition still wrong and writes it again.
                logger.LogWarning("{Policy}: readiness gate of pod {Pod} not set to {Healthy}: {Error}", key, pod.Metadata.Name, want, ex.Message);
            }
        }
    }

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
