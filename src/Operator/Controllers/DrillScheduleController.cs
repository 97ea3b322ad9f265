using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The drill schedule controller: keyed by policy, one worker; a policy's spec changes (and the
/// periodic resync) bring it back, and its own timer the next due slot.
/// </summary>
internal static class DrillScheduleController
{
    public const string Name = "resiliencedrill-schedule";

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, DrillWriter writer, IEventRecorder recorder,
        TimeProvider time, ILoggerFactory loggers) => b
            .Index(informers.Drills.Store, DrillCaches.ByPolicyIndex, DrillCaches.PolicyOf)
            .For(informers.Policies, Predicates.NotDeleted<ResiliencePolicy>(),
                Predicates.Or(Predicates.GenerationChanged<ResiliencePolicy>(), Predicates.Resync<ResiliencePolicy>()))
            .Workers(1)
            .Complete(new DrillScheduleReconciler(DrillCaches.Of(informers), writer, recorder, time, loggers.CreateLogger<DrillScheduleReconciler>()),
                loggers.CreateLogger<Controller>());
}
