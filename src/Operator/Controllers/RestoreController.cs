using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The ResilienceRestore controller: keyed by restore; its Jobs map back to it by label, and a
/// backup's changes to the restores of its policy (a restore may wait for that backup).
/// </summary>
internal static class RestoreController
{
    public const string Name = "resiliencerestore";

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, ClusterWriter writer, IEventRecorder recorder,
        int workers, TimeProvider time, ILoggerFactory loggers)
    {
        var expectations = new CacheExpectations(time);
        var restores = informers.Restores.Store;
        return b
            .Index(informers.Backups.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(restores, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(informers.Jobs.Store, RunCaches.OwnerIndex, RunCaches.OwnersOf)
            .For(informers.Restores, Predicates.NotDeleted<ResilienceRestore>())
            .Watches(informers.Backups, bk => RunCaches.PolicyOf(bk).SelectMany(p => restores.ByIndex(RunCaches.ByPolicyIndex, p)).Select(ObjectKey.Of),
                Predicates.NotDeleted<ResilienceBackup>())
            .Watches(informers.Jobs, j => RunCaches.RunOf(j, Labels.Restore))
            // A policy that comes into this shard's cache (a start, or a relabel to this shard) brings its unfinished restores.
            .Watches(informers.Policies, p => RunCaches.Unfinished(restores, p, r => r.Status?.Phase), Predicates.CreatedOnly<ResiliencePolicy>())
            .OnNewTerm(expectations.Clear)
            .Workers(workers)
            .Complete(new RestoreReconciler(RunCaches.Of(informers), writer, recorder, expectations, time, loggers.CreateLogger<RestoreReconciler>()),
                loggers.CreateLogger<Controller>());
    }
}
