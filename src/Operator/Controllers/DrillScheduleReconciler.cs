using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// spec.drills.schedule: one ResilienceDrill per due time, named deterministically so a repeated
/// reconcile or a new leader never makes a second one (the create's AlreadyExists is the
/// idempotency check, so a cache that does not show the new drill yet is harmless). Keyed by policy.
/// </summary>
internal sealed class DrillScheduleReconciler(
    DrillCaches caches, DrillWriter writer, IEventRecorder events, TimeProvider time, ILogger<DrillScheduleReconciler> logger)
    : IReconciler
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
            // The new drill reaches the drill controller through its watch.
            if (caches.Drills.Get(key.Namespace, name) is null && await writer.CreateAsync(policy, name, drills, ct) is not null)
            {
                logger.LogInformation("{Policy}: scheduled drill {Drill} ({Action}) for {Slot:O}", key, name, drills.Action, slot);
                await events.RecordAsync(policy, EventRecorder.Normal, Reasons.DrillScheduled,
                    $"ResilienceDrill {name} ({drills.Action}) for the slot {slot:O}", ct);
            }
        }
        return schedule.Next(now) is { } next ? ReconcileResult.After(next - now + TimeSpan.FromMilliseconds(10)) : ReconcileResult.Done;
    }
}
