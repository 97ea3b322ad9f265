using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The ResilienceBackup controller: keyed by backup; its Jobs map back to it by label.</summary>
internal static class BackupController
{
    public const string Name = "resiliencebackup";

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, ClusterWriter writer, IEventRecorder recorder,
        int workers, TimeProvider time, ILoggerFactory loggers)
    {
        var expectations = new CacheExpectations(time);
        return b
            .Index(informers.Backups.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(informers.Jobs.Store, RunCaches.OwnerIndex, RunCaches.OwnersOf)
            .For(informers.Backups, Predicates.NotDeleted<ResilienceBackup>())
            .Watches(informers.Jobs, j => RunCaches.RunOf(j, Labels.Backup))
            // A policy that comes into this shard's cache (a start, or a relabel to this shard) brings its unfinished backups.
            .Watches(informers.Policies, p => RunCaches.Unfinished(informers.Backups.Store, p, b => b.Status?.Phase),
                Predicates.CreatedOnly<ResiliencePolicy>())
            // An incident makes the backups completed after its last passing check suspect.
            .Watches(informers.Policies, p => p.Status?.Incidents is { Count: > 0 }
                ? informers.Backups.Store.ByIndex(RunCaches.ByPolicyIndex, p.Metadata.NamespaceProperty + "/" + p.Metadata.Name)
                    .Where(bk => bk.Status?.Phase == RunPhase.Completed && !LastKnownGood.IsSuspect(bk)).Select(ObjectKey.Of)
                : [])
            .OnNewTerm(expectations.Clear)
            .Workers(workers)
            .Complete(new BackupReconciler(RunCaches.Of(informers), writer, recorder, expectations, time, loggers.CreateLogger<BackupReconciler>()),
                loggers.CreateLogger<Controller>());
    }
}
