using ResilienceOperator.Controllers;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Controllers;

/// <summary>resilience_failover_hook_runs_total and resilience_failover_hook_duration_seconds.</summary>
public sealed class HookMetricsTests
{
    [Fact]
    public async Task FinishedRuns_CountedPerPolicyAndTimedPerNamespace_PolicySeriesGoWithThePolicy()
    {
        ResiliencePolicyReconciler.CountHookRuns("hook-metrics", "pg", [
            new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookSucceeded, 3),
            new HookRun(PolicyPlanner.HookPromote, PolicyPlanner.HookTimeout, 300),
        ]);
        ResiliencePolicyReconciler.CountHookRuns("hook-metrics", "other", [new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookFailed, 1)]);

        var text = await MetricsTextAsync();
        Assert.Contains("resilience_failover_hook_runs_total{namespace=\"hook-metrics\",policy=\"pg\",hook=\"fence\",result=\"succeeded\"} 1", text,
            StringComparison.Ordinal);
        Assert.Contains("resilience_failover_hook_runs_total{namespace=\"hook-metrics\",policy=\"pg\",hook=\"promote\",result=\"timeout\"} 1", text,
            StringComparison.Ordinal);
        // The durations have no series per policy: both fences in one.
        Assert.Contains("resilience_failover_hook_duration_seconds_count{namespace=\"hook-metrics\",hook=\"fence\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("resilience_failover_hook_duration_seconds_sum{namespace=\"hook-metrics\",hook=\"promote\"} 300", text, StringComparison.Ordinal);

        ResiliencePolicyReconciler.ForgetSeries(new ObjectKey("hook-metrics", "pg"));
        text = await MetricsTextAsync();
        Assert.DoesNotContain("policy=\"pg\"", text, StringComparison.Ordinal);
        Assert.Contains("resilience_failover_hook_runs_total{namespace=\"hook-metrics\",policy=\"other\",hook=\"fence\",result=\"failed\"} 1", text,
            StringComparison.Ordinal);
    }

    /// <summary>What /metrics serves.</summary>
    private static Task<string> MetricsTextAsync() => ResilienceOperator.Runtime.PolicySeriesExport.TextAsync();
}
