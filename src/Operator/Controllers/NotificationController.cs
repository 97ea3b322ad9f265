using ResilienceOperator.Entities;
using ResilienceOperator.Notifications;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The notifications' registration: edge-triggered on purpose (a notification tells what changed,
/// old against new), so the watch events go straight to the <see cref="NotificationDispatcher"/>
/// and its own delivery loops, not through a keyed queue. The periodic resync changes nothing and
/// tells nothing.
/// </summary>
internal static class NotificationController
{
    public const string Name = "notifications";

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, NotificationDispatcher dispatcher) => b
        .Watches(informers.Policies, new EventHandlers<ResiliencePolicy>(p => dispatcher.PolicyChanged(null, p), dispatcher.PolicyChanged),
            Predicates.ResourceVersionChanged<ResiliencePolicy>())
        .Watches(informers.Restores, new EventHandlers<ResilienceRestore>(r => dispatcher.RestoreChanged(null, r), dispatcher.RestoreChanged),
            Predicates.ResourceVersionChanged<ResilienceRestore>())
        .Watches(informers.Backups, new EventHandlers<ResilienceBackup>(bk => dispatcher.BackupChanged(null, bk), dispatcher.BackupChanged),
            Predicates.ResourceVersionChanged<ResilienceBackup>())
        .Watches(informers.Drills, new EventHandlers<ResilienceDrill>(d => dispatcher.DrillChanged(null, d), dispatcher.DrillChanged),
            Predicates.ResourceVersionChanged<ResilienceDrill>())
        .Complete();
}
