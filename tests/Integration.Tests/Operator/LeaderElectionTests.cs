using k8s;
using k8s.Models;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>Two operator replicas with leader election: one reconciles; a graceful stop hands over at once; a stolen lease stops the workers.</summary>
[Collection("cluster")]
public sealed class LeaderElectionTests(ClusterFixture cluster)
{
    private sealed class Replica : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly k8s.Kubernetes _client;
        public OperatorHost Host { get; }
        public Task Run { get; }

        public Replica(string kubeconfig, string ns, string identity)
        {
            _client = Kubernetes.ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
            Host = new OperatorHost(_client, new OperatorOptions
            {
                Namespaces = [ns], Workers = 2, Port = 0, LeaderElect = true, LeaseNamespace = ns, Identity = identity,
            }, TestLogging.Factory);
            Run = Task.Run(() => Host.RunAsync(_stop.Token));
        }

        private bool _disposed;

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            await _stop.CancelAsync();
            try { await Run.WaitAsync(TimeSpan.FromSeconds(25)); } catch (OperationCanceledException) { }
            Host.Dispose();
            _client.Dispose();
            _stop.Dispose();
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task OneLeaderReconciles_GracefulStopHandsOver_TheNewLeaderFailsOver()
    {
        var s = await Scenario.CreateAsync(cluster, "leader");
        await s.WaitForReadyAsync("primary", 2);
        var a = new Replica(cluster.KubeconfigPath, s.Namespace, "replica-a");
        await using var b = new Replica(cluster.KubeconfigPath, s.Namespace, "replica-b");
        try
        {
            await ClusterFixture.WaitUntilAsync(() => Task.FromResult(a.Host.IsLeading || b.Host.IsLeading), TimeSpan.FromSeconds(30), "a leader");
            var (leader, follower) = a.Host.IsLeading ? (a, b) : (b, a);
            Assert.False(follower.Host.IsLeading);
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
            await s.WaitForConditionAsync("Ready", "True");

            // Graceful stop: the lease is released, so the other replica leads well before it expires (15 s).
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await leader.DisposeAsync();
            await ClusterFixture.WaitUntilAsync(() => Task.FromResult(follower.Host.IsLeading), TimeSpan.FromSeconds(10), "the other replica leads");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"hand-over took {sw.Elapsed.TotalSeconds:0.0}s");

            await s.SetFaultAsync("primary", "unready");
            await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
            await s.WaitForConditionAsync("FailedOver", "True");
            Assert.Equal(1, (await s.GetPolicyAsync()).Status!.Failover!.Count);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task LeaseTakenByAnother_WorkersStop()
    {
        var ns = await cluster.CreateNamespaceAsync("lease-lost");
        await using var replica = new Replica(cluster.KubeconfigPath, ns, "replica-a");
        await ClusterFixture.WaitUntilAsync(() => Task.FromResult(replica.Host.IsLeading), TimeSpan.FromSeconds(30), "replica leads");
        // Someone else holds the lease now (a partition healed the wrong way): renewals fail.
        var lease = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("resilience-operator-leader", ns);
        lease.Spec.HolderIdentity = "someone-else";
        lease.Spec.RenewTime = DateTime.UtcNow.AddMinutes(5);
        lease.Spec.LeaseDurationSeconds = 600;
        await cluster.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, lease.Metadata.Name, ns);
        await ClusterFixture.WaitUntilAsync(() => Task.FromResult(!replica.Host.IsLeading), TimeSpan.FromSeconds(20), "workers stopped after losing the lease");
    }
}
