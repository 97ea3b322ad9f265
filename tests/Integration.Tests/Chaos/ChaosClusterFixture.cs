using ResilienceOperator.IntegrationTests.Harness;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>The chaos tests that stop or reconfigure the API server get a control plane of their own.</summary>
[CollectionDefinition("chaos-cluster")]
public sealed class ChaosClusterCollection : ICollectionFixture<ChaosClusterFixture>;

/// <summary>
/// A second local control plane whose API server the tests stop and start. It runs without the
/// watch cache and compacts etcd every 10 s, so a watch resumed from an old resourceVersion gets
/// 410 Gone within seconds. Its controller-manager waits 5 minutes before it judges a node
/// unreachable, so an API server outage is not mistaken for dead nodes (the simulator renews the
/// node leases as soon as the API server is back).
/// </summary>
public sealed class ChaosClusterFixture : ClusterFixture
{
    protected override string Name => "chaos-cluster";
    protected override bool MayUseExternal => false;
    protected override byte PodNetwork => (byte)(10 + (Environment.ProcessId + 120) % 240);

    protected override Dictionary<string, string> ControlPlaneEnvironment => new()
    {
        ["RESILIENCE_APISERVER_ARGS"] = "--watch-cache=false --etcd-compaction-interval=10s",
        ["RESILIENCE_CONTROLLER_MANAGER_ARGS"] = "--node-monitor-grace-period=5m",
    };

    /// <summary>An API server outage: the process is stopped; etcd, controller-manager and scheduler keep running.</summary>
    public async Task StopApiServerAsync()
    {
        var (code, output) = await ControlPlaneAsync("apiserver-stop", TimeSpan.FromSeconds(30));
        if (code != 0) throw new InvalidOperationException("apiserver-stop failed: " + output);
    }

    /// <summary>Starts the API server again on the same address and flags, and waits for /readyz.</summary>
    public async Task StartApiServerAsync()
    {
        var (code, output) = await ControlPlaneAsync("apiserver-start", TimeSpan.FromSeconds(90));
        if (code != 0) throw new InvalidOperationException("apiserver-start failed: " + output);
    }
}
