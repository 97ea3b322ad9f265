using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Runtime;
using ResilienceOperator.Tests.Planning;

namespace ResilienceOperator.Tests.Health;

public sealed class HealthProberTermTests
{
    private static async Task AdvanceUntil(FakeTimeProvider time, Func<bool> condition, string what)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2); // lets the prober's continuations run; its time is the fake clock's
        }
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task ResetTerm_VerdictsOfPreviousTerm_DroppedAndReseededFromStatus()
    {
        var policy = new PolicyBuilder().Policy;
        // The status the new term starts from: both targets healthy (as the last leader wrote).
        policy.Status = new ResiliencePolicyStatus
        {
            Targets = [
                new TargetStatus { Name = "primary", Healthy = true, LastTransitionTime = PolicyBuilder.T0 },
                new TargetStatus { Name = "standby", Healthy = true, LastTransitionTime = PolicyBuilder.T0 },
            ],
        };
        var policies = new Store<ResiliencePolicy>();
        policies.Upsert(policy);
        var time = new FakeTimeProvider(PolicyBuilder.T0.AddHours(1));
        // No Deployments in the cache: every check fails.
        using var prober = new HealthProber(policies, new Store<V1Deployment>(), new Store<V1Pod>(), _ => { }, Mock.Of<IPodGateWriter>(), time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = prober.RunAsync(stop.Token);
        var key = ObjectKey.Of(policy);
        prober.Resume(key); // the reconciler found it valid
        try
        {
            await AdvanceUntil(time, () => prober.Snapshot(key).TryGetValue("primary", out var h) && !h.Healthy, "term 1 judges primary unhealthy");

            prober.ResetTerm();
            Assert.Empty(prober.Snapshot(key));
            prober.Resume(key); // the new term's first reconcile
            await AdvanceUntil(time, () => prober.Snapshot(key).ContainsKey("primary"), "term 2 checks again");
            var primary = prober.Snapshot(key)["primary"];
            // Seeded from status (healthy) plus this term's first failure, not term 1's run of failures.
            Assert.True(primary.Healthy);
            Assert.Equal(1, primary.ConsecutiveFailures);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void Seed_FirstFailureTimeFromStatus_NoneForAColdStandby()
    {
        var policy = new PolicyBuilder().Policy;
        var first = PolicyBuilder.T0.AddSeconds(-3);
        policy.Status = new ResiliencePolicyStatus
        {
            Targets = [
                // A failed check below the retries: the verdict is still healthy, the failing run began at `first`.
                new TargetStatus { Name = "primary", Healthy = true, ConsecutiveFailures = 1, FirstFailureTime = first, LastTransitionTime = PolicyBuilder.T0.AddHours(-1) },
                new TargetStatus { Name = "standby", Healthy = false, Cold = true, LastTransitionTime = PolicyBuilder.T0 },
            ],
        };
        using var prober = new HealthProber(new Store<ResiliencePolicy>(), new Store<V1Deployment>(), new Store<V1Pod>(), _ => { }, Mock.Of<IPodGateWriter>(),
            new FakeTimeProvider(PolicyBuilder.T0), NullLogger.Instance);
        var verdicts = prober.Verdicts(policy);
        // Planned back into status as it was: a restart writes nothing.
        Assert.Equal(first, verdicts["primary"].FirstFailureTime);
        Assert.Null(verdicts["standby"].FirstFailureTime);
    }
}
