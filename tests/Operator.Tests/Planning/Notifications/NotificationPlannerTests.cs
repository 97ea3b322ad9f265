using System.Text.Json;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Planning;

public sealed class NotificationPlannerTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Now = T0.AddMinutes(5);

    private static ResiliencePolicy Policy(Action<ResiliencePolicyStatus>? status = null, bool webhooks = true)
    {
        var p = new ResiliencePolicy
        {
            Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", Uid = "uid-1" },
            Spec = new ResiliencePolicySpec
            {
                Targets = [new TargetSpec { Name = "primary", Priority = 0 }, new TargetSpec { Name = "standby", Priority = 10 }],
                Failover = new FailoverSpec { FailbackDelay = "8s", CircuitBreaker = new CircuitBreakerSpec { MaxFailovers = 2, Window = "10m", Cooldown = "15m" } },
                Objectives = new ObjectivesSpec { Rpo = "1m", Rto = "30s" },
                Notifications = webhooks
                    ? new NotificationsSpec { Webhooks = [new WebhookSpec { Url = "http://127.0.0.1:9/hook", SecretRef = new SecretKeyReference { Name = "hook", Key = "token" } }] }
                    : null,
            },
            Status = new ResiliencePolicyStatus { Failover = new FailoverStatus(), Conditions = [] },
        };
        status?.Invoke(p.Status);
        return p;
    }

    private static FailoverRecord Switch(string from, string to, string reason, DateTime at) =>
        new() { From = from, To = to, Reason = reason, Time = at, DetectionSeconds = reason == "Failover" ? 2.1 : null, SwitchSeconds = reason == "Failover" ? 0.05 : null };

    private static V1Condition Condition(string type, string status, DateTime at, string message = "") =>
        new() { Type = type, Status = status, Reason = status == "False" ? "ObjectivesBreached" : "ObjectivesMet", Message = message, LastTransitionTime = at };

    private static JsonElement Body(Notification n) => JsonDocument.Parse(n.ToJson()).RootElement;

    [Fact]
    public void Failover_RecordedInStatus_IsOneNotificationWithFromToAndTheSwitchTime()
    {
        var old = Policy();
        var now = Policy(s => { s.Failover!.Count = 1; s.Failover.Last = Switch("primary", "standby", "Failover", T0.AddMilliseconds(420)); });

        var n = Assert.Single(NotificationPlanner.ForPolicy(old, now, Now));

        Assert.Equal(NotificationType.Failover, n.Type);
        Assert.Equal(new DateTimeOffset(T0), n.Time); // the switch, not the moment it was noticed
        Assert.Equal("http://127.0.0.1:9/hook", Assert.Single(n.Webhooks).Url);
        var body = Body(n);
        Assert.Equal("Failover", body.GetProperty("type").GetString());
        Assert.Equal("shop", body.GetProperty("namespace").GetString());
        Assert.Equal("checkout", body.GetProperty("policy").GetString());
        Assert.Equal("primary", body.GetProperty("details").GetProperty("from").GetString());
        Assert.Equal("standby", body.GetProperty("details").GetProperty("to").GetString());
        Assert.Equal(2.1, body.GetProperty("details").GetProperty("detectionSeconds").GetDouble());
        Assert.Contains("from unhealthy primary to standby", n.Message);
        Assert.Equal("uid-1", body.GetProperty("involvedObject").GetProperty("uid").GetString());

        // The same record seen again (write-through, then the watch; or another process) gives the same key.
        var again = Assert.Single(NotificationPlanner.ForPolicy(Policy(), now, Now.AddMinutes(1)));
        Assert.Equal(n.Id, again.Id);
        // ... and an unchanged record gives nothing.
        Assert.Empty(NotificationPlanner.ForPolicy(now, now, Now));
    }

    [Theory]
    [InlineData("Failback", "moved back from standby to primary after 8s")]
    [InlineData("ManualFailback", "on request")]
    public void Failbacks_AreNotifiedWithTheirOwnType(string reason, string wording)
    {
        var old = Policy(s => s.Failover!.Last = Switch("primary", "standby", "Failover", T0));
        var now = Policy(s => s.Failover!.Last = Switch("standby", "primary", reason, T0.AddSeconds(30)));

        var n = Assert.Single(NotificationPlanner.ForPolicy(old, now, Now));

        Assert.Equal(reason, n.Type.ToString());
        Assert.Contains(wording, n.Message);
        Assert.Equal("standby", n.Details["from"]);
        Assert.Equal("primary", n.Details["to"]);
        Assert.NotEqual(Assert.Single(NotificationPlanner.ForPolicy(Policy(), old, Now)).Id, n.Id);
    }

    [Fact]
    public void NothingIsNotified_ForAFirstSighting_OrWithoutWebhooks_OrForTrafficSteered()
    {
        var failedOver = Policy(s => s.Failover!.Last = Switch("primary", "standby", "Failover", T0));
        Assert.Empty(NotificationPlanner.ForPolicy(null, failedOver, Now)); // the first list after a start
        Assert.Empty(NotificationPlanner.ForPolicy(Policy(webhooks: false), Policy(s => s.Failover!.Last = Switch("primary", "standby", "Failover", T0), webhooks: false), Now));
        Assert.Empty(NotificationPlanner.ForPolicy(Policy(), Policy(s => s.Failover!.Last = Switch("", "primary", "TrafficSteered", T0)), Now));
    }

    [Fact]
    public void CircuitOpening_IsNotifiedOnce_AtTheTimeItOpened()
    {
        var closed = Policy();
        var open = Policy(s =>
        {
            s.Failover!.Circuit = "Open";
            s.Failover.CircuitOpenedAt = T0.AddSeconds(3);
            s.Failover.RecentFailovers = [T0, T0.AddSeconds(1)];
            s.Conditions!.Add(new V1Condition { Type = "CircuitOpen", Status = "True", Reason = "CircuitOpen", Message = "automatic failover stopped until later", LastTransitionTime = T0.AddSeconds(3) });
        });

        var n = Assert.Single(NotificationPlanner.ForPolicy(closed, open, Now));

        Assert.Equal(NotificationType.CircuitOpen, n.Type);
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(3)), n.Time);
        Assert.Equal(2, n.Details["recentFailovers"]);
        Assert.Equal(2, n.Details["maxFailovers"]);
        Assert.Equal("automatic failover stopped until later", n.Message);
        Assert.Empty(NotificationPlanner.ForPolicy(open, open, Now));
    }

    [Fact]
    public void ObjectivesMet_TurningFalse_IsABreachWithTheMeasuredValues_AndNotRepeatedWhileItStaysFalse()
    {
        var met = Policy(s => s.Conditions!.Add(Condition("ObjectivesMet", "True", T0)));
        var breached = Policy(s =>
        {
            s.Conditions!.Add(Condition("ObjectivesMet", "False", T0.AddMinutes(2), "last RTO 45s exceeds spec.objectives.rto 30s"));
            s.Objectives = new ObjectivesStatus { RpoSeconds = 20, RpoMet = true, LastRtoSeconds = 45, RtoMet = false };
        });

        var n = Assert.Single(NotificationPlanner.ForPolicy(met, breached, Now));

        Assert.Equal(NotificationType.ObjectivesBreached, n.Type);
        Assert.Equal(new DateTimeOffset(T0.AddMinutes(2)), n.Time);
        Assert.Equal("last RTO 45s exceeds spec.objectives.rto 30s", n.Message);
        var details = Body(n).GetProperty("details");
        Assert.Equal(45, details.GetProperty("lastRtoSeconds").GetDouble());
        Assert.False(details.GetProperty("rtoMet").GetBoolean());
        Assert.Equal(20, details.GetProperty("rpoSeconds").GetDouble());
        Assert.Equal("30s", details.GetProperty("rtoObjective").GetString());

        var stillBreached = Policy(s => s.Conditions!.Add(Condition("ObjectivesMet", "False", T0.AddMinutes(2), "another wording")));
        Assert.Empty(NotificationPlanner.ForPolicy(breached, stillBreached, Now));
    }

    private static ResilienceRestore Restore(RunPhase? phase, DateTime? started = null, DateTime? completed = null, string name = "checkout-restore-1") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Uid = "r-uid" },
        Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary", Backup = "checkout-20260301-1100" },
        Status = phase is null ? null : new ResilienceRunStatus { Phase = phase, StartTime = started, CompletionTime = completed, Attempts = 1, Backup = "checkout-20260301-1100", Message = $"restore {phase}" },
    };

    [Fact]
    public void Restore_StartedThenCompletedOrFailed_EachOnce_NamingTheRestore()
    {
        var policy = Policy();
        var pending = Restore(RunPhase.Pending);
        var running = Restore(RunPhase.Running, T0);
        var completed = Restore(RunPhase.Completed, T0, T0.AddSeconds(40));

        var started = Assert.Single(NotificationPlanner.ForRestore(pending, running, policy, Now));
        Assert.Equal(NotificationType.RestoreStarted, started.Type);
        Assert.Equal(new DateTimeOffset(T0), started.Time);
        var involved = Body(started).GetProperty("involvedObject");
        Assert.Equal("ResilienceRestore", involved.GetProperty("kind").GetString());
        Assert.Equal("checkout-restore-1", involved.GetProperty("name").GetString());
        Assert.Equal("primary", started.Details["target"]);
        Assert.Equal("checkout-20260301-1100", started.Details["backup"]);

        var done = Assert.Single(NotificationPlanner.ForRestore(running, completed, policy, Now));
        Assert.Equal(NotificationType.RestoreCompleted, done.Type);
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(40)), done.Time);
        Assert.Empty(NotificationPlanner.ForRestore(completed, completed, policy, Now));

        var failed = Assert.Single(NotificationPlanner.ForRestore(running, Restore(RunPhase.Failed, T0, T0.AddSeconds(9)), policy, Now));
        Assert.Equal(NotificationType.RestoreFailed, failed.Type);

        // Two restores starting in the same second are two events.
        var other = Assert.Single(NotificationPlanner.ForRestore(Restore(RunPhase.Pending, name: "b"), Restore(RunPhase.Running, T0, name: "b"), policy, Now));
        Assert.NotEqual(started.Id, other.Id);
        // A fast restore seen first as Completed reports the start too.
        Assert.Equal([NotificationType.RestoreStarted, NotificationType.RestoreCompleted],
            NotificationPlanner.ForRestore(pending, completed, policy, Now).Select(n => n.Type));
        Assert.Empty(NotificationPlanner.ForRestore(pending, running, null, Now)); // policy gone: nowhere to send
    }

    private static ResilienceDrill Drill(DrillPhase phase, double? rto = null, string reason = "Recovered") => new()
    {
        Metadata = new V1ObjectMeta { Name = "checkout-drill-1", NamespaceProperty = "shop", Uid = "d-uid" },
        Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.FailTarget },
        Status = new ResilienceDrillStatus
        {
            Phase = phase, Target = "primary", RtoSeconds = rto, RtoObjectiveSeconds = 30, Message = $"drill {phase}",
            Conditions = phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted
                ? [new V1Condition { Type = "Succeeded", Status = phase == DrillPhase.Passed ? "True" : "False", Reason = reason, LastTransitionTime = T0.AddSeconds(12) }]
                : [],
        },
    };

    [Theory]
    [InlineData(DrillPhase.Passed)]
    [InlineData(DrillPhase.Failed)]
    [InlineData(DrillPhase.Aborted)]
    public void DrillVerdict_IsNotifiedWithResultAndRto(DrillPhase phase)
    {
        var running = Drill(DrillPhase.Running);
        var ended = Drill(phase, phase == DrillPhase.Passed ? 4.2 : null);

        var n = Assert.Single(NotificationPlanner.ForDrill(running, ended, Policy(), Now));

        Assert.Equal("Drill" + phase, n.Type.ToString());
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(12)), n.Time);
        var details = Body(n).GetProperty("details");
        Assert.Equal(phase.ToString(), details.GetProperty("result").GetString());
        Assert.Equal("checkout-drill-1", details.GetProperty("drill").GetString());
        Assert.Equal(phase == DrillPhase.Passed, details.TryGetProperty("rtoSeconds", out var rto));
        if (phase == DrillPhase.Passed) Assert.Equal(4.2, rto.GetDouble());
        Assert.Equal("ResilienceDrill", Body(n).GetProperty("involvedObject").GetProperty("kind").GetString());
        Assert.Empty(NotificationPlanner.ForDrill(ended, ended, Policy(), Now));
        Assert.Empty(NotificationPlanner.ForDrill(Drill(DrillPhase.Pending), running, Policy(), Now));
    }

    [Fact]
    public void Backup_RestoreTestPassedOrFailed_OneNotificationEach_NothingWhileRunning()
    {
        ResilienceBackup Backup(VerificationPhase? phase) => new()
        {
            Metadata = new V1ObjectMeta { Name = "bk", NamespaceProperty = "shop", Uid = "u-bk" },
            Spec = new ResilienceBackupSpec { Policy = "checkout" },
            Status = new ResilienceRunStatus
            {
                Phase = RunPhase.Completed,
                Verification = phase is null ? null : new BackupVerificationStatus { Phase = phase, Time = T0, Message = "verify Job exited 0", Scratch = "bk-scratch" },
            },
        };
        Assert.Empty(NotificationPlanner.ForBackup(Backup(null), Backup(VerificationPhase.Verifying), Policy(), Now));
        var passed = Assert.Single(NotificationPlanner.ForBackup(Backup(VerificationPhase.Verifying), Backup(VerificationPhase.Passed), Policy(), Now));
        Assert.Equal((NotificationType.BackupVerified, "bk-scratch"), (passed.Type, Body(passed).GetProperty("details").GetProperty("scratch").GetString()));
        Assert.Empty(NotificationPlanner.ForBackup(Backup(VerificationPhase.Passed), Backup(VerificationPhase.Passed), Policy(), Now));
        var failed = Assert.Single(NotificationPlanner.ForBackup(Backup(VerificationPhase.Verifying), Backup(VerificationPhase.Failed), Policy(), Now));
        Assert.Equal(NotificationType.BackupVerificationFailed, failed.Type);
        Assert.Empty(NotificationPlanner.ForBackup(Backup(VerificationPhase.Verifying), Backup(VerificationPhase.Passed), Policy(webhooks: false), Now));
    }
}
