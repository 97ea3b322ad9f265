using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Policy;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Drills;

/// <summary>
/// spec.drills.schedule: one ResilienceDrill per due time, named deterministically so a repeated
/// reconcile or a new leader never makes a second one. Keyed by policy.
/// </summary>
internal sealed class DrillScheduler(DrillCaches caches, DrillWriter writer, IEventRecorder events, TimeProvider time, ILogger<DrillScheduler> logger,
    Action<ResilienceDrill> created) : IReconciler
{
    private readonly ConcurrentDictionary<ObjectKey, string> _reported = new();

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var policy = caches.Policies.Get(key);
        if (policy is null || policy.Metadata.DeletionTimestamp is not null || policy.Spec.Drills is not { } drills)
        {
            _reported.TryRemove(key, out _);
            return ReconcileResult.Done;
        }
        var (schedule, error) = DrillSchedule.Parse(drills.Schedule);
        if (schedule is null)
        {
            // Told once per distinct error, not at every reconcile.
            if (_reported.TryGetValue(key, out var last) && last == error) return ReconcileResult.Done;
            _reported[key] = error!;
            await events.RecordAsync(policy, EventRecorder.Warning, Reasons.InvalidSpec, error!, ct);
            return ReconcileResult.Done;
        }
        _reported.TryRemove(key, out _);
        var now = time.GetUtcNow().UtcDateTime;
        if (schedule.Due(now, policy.Metadata.CreationTimestamp ?? now) is { } slot)
        {
            var name = DrillSchedule.DrillName(policy.Metadata.Name, slot);
            if (caches.Drills.Get(key.Namespace, name) is null && await writer.CreateAsync(policy, name, drills, ct) is { } drill)
            {
                caches.Drills.Observe(drill);
                created(drill);
                logger.LogInformation("{Policy}: scheduled drill {Drill} ({Action}) for {Slot:O}", key, name, drills.Action, slot);
                await events.RecordAsync(policy, EventRecorder.Normal, Reasons.DrillScheduled, $"ResilienceDrill {name} ({drills.Action}) for the slot {slot:O}", ct);
            }
        }
        return schedule.Next(now) is { } next ? ReconcileResult.After(next - now + TimeSpan.FromMilliseconds(10)) : ReconcileResult.Done;
    }
}

/// <summary>
/// The drill controller (keyed by drill) and the drill scheduler (keyed by policy), each with its
/// own queue, wired to the informers the operator already runs. Running drills poll the caches,
/// so the policy's own status writes (which the informer does not re-announce) are seen too.
/// </summary>
internal sealed class DrillControllers : IDisposable
{
    private readonly WorkQueue<ObjectKey> _queue;
    private readonly WorkQueue<ObjectKey> _scheduleQueue;
    private readonly Controller _controller;
    private readonly Controller _scheduler;
    private readonly Informer<ResiliencePolicy> _policies;
    private readonly Informer<ResilienceDrill> _drills;

    public DrillControllers(IKubernetes client, IEventRecorder recorder, Informer<ResiliencePolicy> policies, Informer<V1Deployment> deployments,
        Informer<V1Pod> pods, Store<ResilienceRestore> restores, Informer<ResilienceDrill> drills, int workers, LeaseFence fence, TimeProvider time, ILoggerFactory loggers)
    {
        _policies = policies;
        _drills = drills;
        drills.Store.AddIndex(DrillCaches.ByPolicyIndex, d => [d.Metadata.NamespaceProperty + "/" + d.Spec.Policy]);
        var caches = new DrillCaches(drills.Store, policies.Store, deployments.Store, pods.Store, restores);
        var writer = new DrillWriter(client, fence);
        var queue = _queue = new WorkQueue<ObjectKey>("resiliencedrill", time);
        var scheduleQueue = _scheduleQueue = new WorkQueue<ObjectKey>("resiliencedrill-schedule", time);
        _controller = new Controller("resiliencedrill", new DrillReconciler(caches, writer, recorder, time, loggers.CreateLogger<DrillReconciler>()),
            queue, workers, loggers.CreateLogger<Controller>());
        _scheduler = new Controller("resiliencedrill-schedule", new DrillScheduler(caches, writer, recorder, time, loggers.CreateLogger<DrillScheduler>(),
            d => queue.Add(ObjectKey.Of(d))), scheduleQueue, 1, loggers.CreateLogger<Controller>());

        void DrillsOf(ResiliencePolicy p)
        {
            foreach (var d in caches.DrillsOf(p.Metadata.NamespaceProperty, p.Metadata.Name)) queue.Add(ObjectKey.Of(d));
        }
        drills.Added += d => queue.Add(ObjectKey.Of(d));
        drills.Updated += (_, d) => queue.Add(ObjectKey.Of(d));
        policies.Added += p => scheduleQueue.Add(ObjectKey.Of(p));
        policies.Updated += (o, p) =>
        {
            if (o.Metadata.Generation != p.Metadata.Generation || o == p) scheduleQueue.Add(ObjectKey.Of(p));
            DrillsOf(p);
        };
        policies.Deleted += DrillsOf;
    }

    /// <summary>Level-triggered: every drill and every policy's schedule is looked at after a (re)start.</summary>
    public void Seed()
    {
        foreach (var d in _drills.Store.List()) _queue.Add(ObjectKey.Of(d));
        foreach (var p in _policies.Store.List()) _scheduleQueue.Add(ObjectKey.Of(p));
    }

    /// <summary>A new leadership term: nothing queued or delayed by the previous one (see <see cref="WorkQueue{TKey}.Reset"/>).</summary>
    public void Reset()
    {
        _queue.Reset();
        _scheduleQueue.Reset();
    }

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_controller.RunAsync(ct), _scheduler.RunAsync(ct));

    /// <summary>The drill and schedule queues, for the readiness check.</summary>
    public IEnumerable<IQueueProgress> Queues => [_queue, _scheduleQueue];

    public void ShutDown()
    {
        _queue.ShutDown();
        _scheduleQueue.ShutDown();
    }

    public void Dispose()
    {
        _queue.Dispose();
        _scheduleQueue.Dispose();
    }
}
