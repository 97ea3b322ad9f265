using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>The Lease the replicas elect a leader with: get, create, and update guarded by resourceVersion.</summary>
internal interface ILeaseStore
{
    /// <summary>The Lease, or null when it does not exist.</summary>
    Task<V1Lease?> GetAsync(CancellationToken ct);

    /// <summary>Creates the Lease; fails (409) when another replica created it first.</summary>
    Task<V1Lease> CreateAsync(V1Lease lease, CancellationToken ct);

    /// <summary>Replaces the Lease; its metadata.resourceVersion makes a concurrent change a 409, so two replicas cannot both win.</summary>
    Task<V1Lease> UpdateAsync(V1Lease lease, CancellationToken ct);
}

/// <summary>coordination.k8s.io/v1 Lease through the API server.</summary>
internal sealed class KubernetesLeaseStore(IKubernetes client, string ns, string name) : ILeaseStore
{
    public string Namespace => ns;
    public string Name => name;

    public async Task<V1Lease?> GetAsync(CancellationToken ct)
    {
        try { return await client.CoordinationV1.ReadNamespacedLeaseAsync(name, ns, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    public Task<V1Lease> CreateAsync(V1Lease lease, CancellationToken ct) =>
        client.CoordinationV1.CreateNamespacedLeaseAsync(lease, ns, cancellationToken: ct);

    public Task<V1Lease> UpdateAsync(V1Lease lease, CancellationToken ct) =>
        client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, ns, cancellationToken: ct);
}

/// <summary>
/// Lease duration, renew deadline and retry period, as client-go's leader election. Defaults are
/// controller-runtime's: 15 s, 10 s, 2 s.
/// </summary>
internal sealed record LeaderElectionTimings(TimeSpan LeaseDuration, TimeSpan RenewDeadline, TimeSpan RetryPeriod)
{
    /// <summary>client-go's JitterFactor, kept for its checks of the durations (the elector itself jitters less).</summary>
    public const double JitterFactor = 1.2;

    public static LeaderElectionTimings Default { get; } = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));

    /// <summary>client-go's checks: a lease outlives the renew deadline, which outlives a jittered retry.</summary>
    public void Validate()
    {
        if (LeaseDuration <= RenewDeadline)
            throw new ArgumentException(
                $"lease duration ({LeaseDuration}) must be greater than the renew deadline ({RenewDeadline})");
        if (RenewDeadline <= RetryPeriod * JitterFactor)
            throw new ArgumentException(
                $"renew deadline ({RenewDeadline}) must be greater than {JitterFactor} times the retry period ({RetryPeriod})");
        if (RetryPeriod <= TimeSpan.Zero) throw new ArgumentException("retry period must be positive");
    }
}

/// <summary>
/// Runs <c>work</c> only while this process holds the Lease, following client-go's
/// tools/leaderelection: try to acquire every RetryPeriod (with jitter) until it succeeds; while
/// leading, renew every RetryPeriod; a leader that cannot renew within RenewDeadline steps down
/// (its term's work is cancelled) and goes back to acquiring. An API error is never fatal: it is a
/// failed attempt, logged, and retried. Whether another holder's lease has expired is judged by when
/// WE saw its record last change, on our monotonic clock, never by the timestamps it wrote (its
/// clock). Every successful acquire or renew is reported to the <see cref="LeaseFence"/> that
/// writers consult. Graceful shutdown releases the lease (holder cleared) so a successor takes
/// over at once instead of after the lease expires.
/// </summary>
internal sealed class LeaderElection
{
    private static readonly Gauge IsLeader = Metrics.CreateGauge("leader_election_master_status",
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.", "name");

    private readonly ILeaseStore _store;
    private readonly string _leaseName;
    private readonly string _identity;
    private readonly LeaderElectionTimings _timings;
    private readonly LeaseFence _fence;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    /// <summary>The Lease as last read or written by us (its resourceVersion guards our next update).</summary>
    private V1Lease? _observed;
    /// <summary>Monotonic time at which the observed record last changed.</summary>
    private long _observedAt;
    private string? _lastError;
    private readonly ApiServerReachability? _reachability;

    public LeaderElection(ILeaseStore store, string leaseName, string identity, LeaderElectionTimings timings, LeaseFence fence,
        TimeProvider time, ILogger logger, ApiServerReachability? reachability = null)
    {
        _reachability = reachability;
        timings.Validate();
        _store = store;
        _leaseName = leaseName;
        _identity = identity;
        _timings = timings;
        _fence = fence;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether the last record we saw or wrote names us as the holder (client-go's IsLeader).</summary>
    private bool HoldsRecord => _observed?.Spec?.HolderIdentity == _identity;

    /// <summary>Why a term ended.</summary>
    private enum TermEnd { Shutdown, Lost, Refused, WorkEnded }

    /// <summary>Acquires, leads (runs <paramref name="work"/> for the term), steps down, and again, until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> work, CancellationToken ct)
    {
        IsLeader.WithLabels(_leaseName).Set(0);
        while (await AcquireAsync(ct) is { } acquiredAt)
        {
            using var term = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _fence.Acquired(acquiredAt, term);
            IsLeader.WithLabels(_leaseName).Set(1);
            _logger.LogInformation("became leader of {Lease} as {Identity}", _leaseName, _identity);
            var workTask = Task.Run(() => work(term.Token), CancellationToken.None);
            var renewTask = RenewAsync(acquiredAt, term.Token);
            var first = await Task.WhenAny(workTask, renewTask);
            var end = ct.IsCancellationRequested ? TermEnd.Shutdown
                : term.IsCancellationRequested ? TermEnd.Refused
                : first == renewTask ? TermEnd.Lost : TermEnd.WorkEnded;
            var released = false;
            switch (end)
            {
                case TermEnd.Shutdown:
                    // Hand over first, wind down after: once the fence refuses every write, nothing
                    // this term still does can reach the API server, so the lease can go at once and
                    // the successor need not wait for in-flight reconciles, probes or the event flush
                    // (events still queued are dropped and counted, not written by a non-leader).
                    _fence.Lost();
                    await term.CancelAsync();
                    await renewTask;
                    await ReleaseAsync();
                    released = true;
                    break;
                case TermEnd.Lost:
                    // The fence refuses writes already (it is time-based); say so at once, not when the work has wound down.
                    _fence.Lost();
                    _logger.LogWarning("lost lease {Lease}; stepping down", _leaseName);
                    break;
                case TermEnd.Refused:
                    _logger.LogWarning("a write was refused: the lease {Lease} was not renewed in time; stepping down", _leaseName);
                    break;
                case TermEnd.WorkEnded:
                    _logger.LogError(workTask.Exception?.GetBaseException(), "the leader's work ended on its own; stepping down");
                    break;
            }
            await term.CancelAsync();
            // No new term before every worker of this one has stopped.
            try { await workTask; }
            catch (OperationCanceledException) { }
            catch (Exception ex) when (end != TermEnd.WorkEnded) { _logger.LogError(ex, "the leader's work failed while stopping"); }
            catch (Exception) { /* logged above */ }
            await renewTask;
            _fence.Lost();
            IsLeader.WithLabels(_leaseName).Set(0);
            _logger.LogInformation("stopped leading {Lease}", _leaseName);
            // Nothing more is written by this term: hand the lease over at once rather than after it expires.
            if (!released && end is TermEnd.Shutdown or TermEnd.WorkEnded) await ReleaseAsync();
            if (end == TermEnd.WorkEnded)
            {
                // Work that ends on its own would otherwise be restarted in a tight loop.
                try { await Task.Delay(_timings.RetryPeriod, _time, ct); } catch (OperationCanceledException) { }
            }
        }
        IsLeader.WithLabels(_leaseName).Set(0);
    }

    /// <summary>Tries every RetryPeriod (jittered) until the lease is ours; the monotonic start of the winning attempt, or null when cancelled.</summary>
    private async Task<long?> AcquireAsync(CancellationToken ct)
    {
        _logger.LogInformation("attempting to acquire lease {Lease} as {Identity}", _leaseName, _identity);
        while (!ct.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            if (await TryAcquireOrRenewAsync(ct)) return started;
            // A small jitter: with two or three replicas a bounded take-over time (lease duration plus
            // at most a fifth of a retry period of observation) matters more than spreading their calls.
            var delay = _timings.RetryPeriod * (1 + (Random.Shared.NextDouble() * AcquireJitter));
            // A lease seen held by another: try again the moment it runs out, not up to a retry later.
            if (RemainingOfObservedLease() is { } left && left < delay) delay = left + TimeSpan.FromMilliseconds(20);
            try { await Task.Delay(delay, _time, ct); }
            catch (OperationCanceledException) { break; }
        }
        return null;
    }

    /// <summary>
    /// Renews every RetryPeriod; returns when the lease is lost — not renewed within RenewDeadline, or
    /// seen held by another replica — or when the term ends.
    /// </summary>
    private async Task RenewAsync(long renewedAt, CancellationToken term)
    {
        while (!term.IsCancellationRequested)
        {
            try { await Task.Delay(_timings.RetryPeriod, _time, term); }
            catch (OperationCanceledException) { return; }
            var started = _time.GetTimestamp();
            if (_time.GetElapsedTime(renewedAt) < _timings.RenewDeadline
                && await TryAcquireOrRenewAsync(term, _timings.RenewDeadline - _time.GetElapsedTime(renewedAt)))
            {
                renewedAt = started;
                _fence.Renewed(started);
                continue;
            }
            if (term.IsCancellationRequested) return;
            // Another replica holds it (a partition healed the other way): lost for certain, no point waiting out the deadline.
            if (_observed?.Spec?.HolderIdentity is { Length: > 0 } holder && holder != _identity)
            {
                _logger.LogWarning("lease {Lease} is now held by {Holder}", _leaseName, holder);
                return;
            }
            if (_time.GetElapsedTime(renewedAt) >= _timings.RenewDeadline)
            {
                _logger.LogWarning("could not renew {Lease} within {Deadline}s", _leaseName, _timings.RenewDeadline.TotalSeconds);
                return;
            }
        }
    }

    /// <summary>
    /// client-go's tryAcquireOrRenew. True when the lease is ours after the call. Never throws: an
    /// API error (connection refused, 409, 500, a timeout) is a failed attempt.
    /// </summary>
    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken ct, TimeSpan? within = null)
    {
        using var attempt = new CancellationTokenSource(within ?? _timings.RenewDeadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, attempt.Token);
        var token = linked.Token;
        var now = _time.GetUtcNow().UtcDateTime;
        try
        {
            // 1. Fast path for the leader: update the record we last saw; its resourceVersion guards it.
            if (HoldsRecord && LeaseValid())
            {
                var renewal = Copy(_observed!);
                renewal.Spec.HolderIdentity = _identity;
                renewal.Spec.LeaseDurationSeconds = DurationSeconds;
                renewal.Spec.RenewTime = now;
                try
                {
                    Observe(await _store.UpdateAsync(renewal, token));
                    return Succeeded();
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    _logger.LogDebug("optimistic renewal of {Lease} failed, falling back to get: {Error}", _leaseName, ex.Message);
                }
            }

            // 2. Get the record, or create it.
            var current = await _store.GetAsync(token);
            if (current is null)
            {
                Observe(await _store.CreateAsync(new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = _leaseName },
                    Spec = new V1LeaseSpec
                    {
                        HolderIdentity = _identity, LeaseDurationSeconds = DurationSeconds, AcquireTime = now, RenewTime = now, LeaseTransitions = 0,
                    },
                }, token));
                return Succeeded();
            }
            current.Spec ??= new V1LeaseSpec();
            var changed = _observed is null || !SameRecord(_observed.Spec, current.Spec);
            var observedAt = changed ? _time.GetTimestamp() : _observedAt;
            _observed = current;
            _observedAt = observedAt;
            if (!string.IsNullOrEmpty(current.Spec.HolderIdentity) && LeaseValid() && !HoldsRecord)
            {
                _lastError = null;
                _reachability?.Answered();
                _logger.LogDebug("lease {Lease} is held by {Holder} and has not yet expired", _leaseName, current.Spec.HolderIdentity);
                return false;
            }

            // 3. Ours to take (or keep): update with our identity, guarded by the resourceVersion just read.
            var next = Copy(current);
            if (!HoldsRecord)
            {
                next.Spec.AcquireTime = now;
                next.Spec.LeaseTransitions = (current.Spec.LeaseTransitions ?? 0) + 1;
            }
            next.Spec.HolderIdentity = _identity;
            next.Spec.LeaseDurationSeconds = DurationSeconds;
            next.Spec.RenewTime = now;
            Observe(await _store.UpdateAsync(next, token));
            return Succeeded();
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            var error = attempt.IsCancellationRequested ? "timed out" : ex.Message;
            // Once per distinct error: an API server that is down for minutes is one line, not one every 2 s.
            if (error != _lastError) _logger.LogWarning("leader election on {Lease}: {Error}", _leaseName, error);
            _lastError = error;
            _reachability?.Failed();
            return false;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private bool Succeeded()
    {
        if (_lastError is not null) _logger.LogInformation("leader election on {Lease}: the API server answers again", _leaseName);
        _lastError = null;
        _reachability?.Answered();
        return true;
    }

    /// <summary>Jitter of the acquire attempts, as a share of the retry period.</summary>
    private const double AcquireJitter = 0.2;

    private int DurationSeconds => (int)Math.Ceiling(_timings.LeaseDuration.TotalSeconds);

    /// <summary>How long the lease another replica holds still runs by our clock; null when none is seen held.</summary>
    private TimeSpan? RemainingOfObservedLease()
    {
        if (_observed?.Spec?.HolderIdentity is not { Length: > 0 } || HoldsRecord) return null;
        var left = TimeSpan.FromSeconds(_observed.Spec.LeaseDurationSeconds ?? 0) - _time.GetElapsedTime(_observedAt);
        return left > TimeSpan.Zero ? left : null;
    }

    /// <summary>The observed holder's lease runs until its duration after we saw its record change.</summary>
    private bool LeaseValid() =>
        _observed is not null && _time.GetElapsedTime(_observedAt) < TimeSpan.FromSeconds(_observed.Spec?.LeaseDurationSeconds ?? 0);

    private void Observe(V1Lease lease)
    {
        _observed = lease;
        _observedAt = _time.GetTimestamp();
    }

    private static bool SameRecord(V1LeaseSpec? a, V1LeaseSpec? b) =>
        a?.HolderIdentity == b?.HolderIdentity && a?.LeaseDurationSeconds == b?.LeaseDurationSeconds && a?.AcquireTime == b?.AcquireTime
        && a?.RenewTime == b?.RenewTime && a?.LeaseTransitions == b?.LeaseTransitions;

    private static V1Lease Copy(V1Lease lease)
    {
        var copy = KubernetesJson.Deserialize<V1Lease>(KubernetesJson.Serialize(lease));
        copy.Spec ??= new V1LeaseSpec();
        return copy;
    }

    /// <summary>Gives the lease up by clearing the holder, so another replica can acquire it immediately (client-go's release).</summary>
    private async Task ReleaseAsync()
    {
        if (!HoldsRecord) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3), _time);
            var now = _time.GetUtcNow().UtcDateTime;
            var released = Copy(_observed!);
            released.Spec.HolderIdentity = "";
            released.Spec.LeaseDurationSeconds = 1;
            released.Spec.AcquireTime = now;
            released.Spec.RenewTime = now;
            Observe(await _store.UpdateAsync(released, cts.Token));
            _logger.LogInformation("released lease {Lease}", _leaseName);
        }
        catch (Exception ex)
        {
            // A 409 means another replica changed it first: then it is not ours to release.
            _logger.LogWarning("could not release lease {Lease}: {Error}", _leaseName, ex.Message);
        }
    }
}
