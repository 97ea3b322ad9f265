using System.Globalization;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>
/// Messages stay complete when a figure is unknown (never "detected in s"), figures are culture
/// invariant, and status.activeTargetNames lists every active target for kubectl's Active column.
/// </summary>
public sealed class MessageFiguresTests
{
    [Fact]
    public void Figures_UnknownInWords_KnownCultureInvariant()
    {
        var culture = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a decimal comma (built by hand: the tests may run globalization-invariant).
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            Assert.Equal("2,5", 2.5.ToString(comma));
            Assert.Equal("2.5s", Figures.Seconds(2.5, "unknown"));
            Assert.Equal("unknown", Figures.Seconds(null, "unknown"));
            Assert.Equal("detected in 2.1s, switched 0.05s after detection", Figures.FailoverTimes(2.1, 0.05));
            Assert.Equal("detection time unknown, switched 0.05s after detection", Figures.FailoverTimes(null, 0.05));
            Assert.Equal("detected in 2.1s, switch time unknown", Figures.FailoverTimes(2.1, null));
        }
        finally { CultureInfo.CurrentCulture = culture; }
    }

    [Fact]
    public void Plan_Failover_EventGivesDetectionAndSwitchTimes()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11.2));
        var e = Assert.Single(plan.Events, e => e.Reason == Reasons.Failover);
        Assert.Equal("traffic moved from unhealthy primary to standby (detected in 2s, switched 0.2s after detection)", e.Message);
    }

    [Fact]
    public void Plan_FailoverWithoutFirstFailedCheck_EventSaysDetectionTimeUnknown()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        // A verdict taken over without the time of its first failed check: no detection time.
        b.Health["primary"] = new TargetHealth(false, 2, 0, null, T0.AddSeconds(11), 3, 0, "0/3 pods ready, need 2", false) { Failed = true };
        var plan = b.PlanAndApply(T0.AddSeconds(11.2));
        Assert.Null(plan.Status.Failover!.Last!.DetectionSeconds);
        var e = Assert.Single(plan.Events, e => e.Reason == Reasons.Failover);
        Assert.Equal("traffic moved from unhealthy primary to standby (detection time unknown, switched 0.2s after detection)", e.Message);
        Assert.DoesNotContain("in s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ActivePassive_ActiveTargetNamesIsTheActiveTarget()
    {
        var b = new PolicyBuilder();
        Assert.Equal("primary", b.PlanAndApply(T0).Status.ActiveTargetNames);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        Assert.Equal("standby", b.PlanAndApply(T0.AddSeconds(11)).Status.ActiveTargetNames);
    }

    [Fact]
    public void Plan_ActiveActive_ActiveTargetNamesListsEveryServingTarget()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        foreach (var d in b.Deployments.Values) d.Spec.Selector.MatchLabels["tier"] = "web";
        var both = b.PlanAndApply(T0);
        Assert.Equal(["primary", "standby"], both.Status.ActiveTargets!);
        Assert.Equal("primary,standby", both.Status.ActiveTargetNames);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        Assert.Equal("standby", b.PlanAndApply(T0.AddSeconds(11)).Status.ActiveTargetNames);
    }

    [Theory]
    [InlineData(ResilienceMode.ActivePassive)]
    [InlineData(ResilienceMode.ActiveActive)]
    public void Plan_DryRun_ActiveTargetNamesFollowsActiveTargets(ResilienceMode mode)
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Mode = mode;
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        if (mode == ResilienceMode.ActiveActive)
        {
            // The Service already spans both targets: both serve.
            foreach (var d in b.Deployments.Values) d.Spec.Selector.MatchLabels["tier"] = "web";
            b.Service.Spec.Selector = new Dictionary<string, string> { ["tier"] = "web" };
        }
        var plan = b.PlanAndApply(T0);
        Assert.Equal(mode == ResilienceMode.ActiveActive ? "primary,standby" : "primary", plan.Status.ActiveTargetNames);
        Assert.NotNull(plan.Status.ActiveTargets);
        Assert.NotEmpty(plan.Status.ActiveTargets!);
        Assert.Equal(string.Join(",", plan.Status.ActiveTargets!), plan.Status.ActiveTargetNames);
    }

    private static ResiliencePolicy NotifiedPolicy(FailoverRecord? last) => new()
    {
        Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", Uid = "uid-1" },
        Spec = new ResiliencePolicySpec
        {
            Targets = [new TargetSpec { Name = "primary" }, new TargetSpec { Name = "standby", Priority = 10 }],
            Notifications = new NotificationsSpec { Webhooks = [new WebhookSpec { Url = "http://127.0.0.1:9/hook" }] },
        },
        Status = new ResiliencePolicyStatus { Failover = new FailoverStatus { Count = last is null ? 0 : 1, Last = last }, Conditions = [] },
    };

    [Theory]
    [InlineData(2.1, 0.05, "traffic moved from unhealthy primary to standby (detected in 2.1s, switched 0.05s after detection)")]
    [InlineData(null, 0.05, "traffic moved from unhealthy primary to standby (detection time unknown, switched 0.05s after detection)")]
    [InlineData(null, null, "traffic moved from unhealthy primary to standby (detection time unknown, switch time unknown)")]
    public void Notification_Failover_MessageCompleteWhenAFigureIsUnknown(double? detection, double? switchSeconds, string expected)
    {
        var at = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        var last = new FailoverRecord { From = "primary", To = "standby", Reason = "Failover", Time = at, DetectionSeconds = detection, SwitchSeconds = switchSeconds };
        var n = Assert.Single(NotificationPlanner.ForPolicy(NotifiedPolicy(null), NotifiedPolicy(last), at));
        Assert.Equal(expected, n.Message);
    }

    [Fact]
    public void Notification_RestoreStartedWithoutBackupName_NamesTheNewestCompletedBackup()
    {
        var at = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        ResilienceRestore Restore(DateTime? started) => new()
        {
            Metadata = new V1ObjectMeta { Name = "checkout-restore-1", NamespaceProperty = "shop", Uid = "r-uid" },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary" },
            Status = new ResilienceRunStatus { Phase = started is null ? RunPhase.Pending : RunPhase.Running, StartTime = started },
        };
        var n = Assert.Single(NotificationPlanner.ForRestore(Restore(null), Restore(at), NotifiedPolicy(null), at));
        Assert.Equal("restore checkout-restore-1 of primary from the newest completed backup started", n.Message);
    }

    [Fact]
    public void Notification_DrillWithoutMessage_GivesThePhaseAndRto()
    {
        var at = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        ResilienceDrill Drill(DrillPhase phase, double? rto) => new()
        {
            Metadata = new V1ObjectMeta { Name = "checkout-drill-1", NamespaceProperty = "shop", Uid = "d-uid" },
            Spec = new ResilienceDrillSpec { Policy = "checkout" },
            Status = new ResilienceDrillStatus { Phase = phase, RtoSeconds = rto, RecoveredAt = at },
        };
        var failed = Assert.Single(NotificationPlanner.ForDrill(Drill(DrillPhase.Running, null), Drill(DrillPhase.Failed, null), NotifiedPolicy(null), at));
        Assert.Equal("checkout-drill-1: Failed, RTO not measured", failed.Message);
        var passed = Assert.Single(NotificationPlanner.ForDrill(Drill(DrillPhase.Running, null), Drill(DrillPhase.Passed, 12.5), NotifiedPolicy(null), at));
        Assert.Equal("checkout-drill-1: Passed, RTO 12.5s", passed.Message);
    }
}
