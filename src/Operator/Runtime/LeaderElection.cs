using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>
/// Runs <c>work</c> only while this process holds the Lease (15 s lease, 10 s renew deadline,
/// 2 s retry, as controller-runtime). Losing the lease cancels the work; graceful shutdown
/// releases it so a successor takes over at once instead of after the lease expires.
/// </summary>
internal sealed class LeaderElection(IKubernetes client, string leaseNamespace, string leaseName, string identity, ILogger logger)
{
    private static readonly Gauge IsLeader = Metrics.CreateGauge("leader_election_master_status",
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.", "name");

    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromSeconds(2);

    public async Task RunAsync(Func<CancellationToken, Task> work, CancellationToken ct)
    {
        var leaseLock = new LeaseLock(client, leaseNamespace, leaseName, identity);
        while (!ct.IsCancellationRequested)
        {
            using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
            {
                LeaseDuration = LeaseDuration, RenewDeadline = RenewDeadline, RetryPeriod = RetryPeriod,
            });
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task? workTask = null;
            elector.OnStartedLeading += () =>
            {
                logger.LogInformation("became leader of {Namespace}/{Lease} as {Identity}", leaseNamespace, leaseName, identity);
                IsLeader.WithLabels(leaseName).Set(1);
                workTask = Task.Run(() => work(leading.Token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () =>
            {
                IsLeader.WithLabels(leaseName).Set(0);
                logger.LogWarning("lost leadership of {Namespace}/{Lease}; stopping workers", leaseNamespace, leaseName);
                leading.Cancel();
            };
            elector.OnError += ex => logger.LogWarning("leader election: {Error}", ex.Message);
            try { await elector.RunUntilLeadershipLostAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            leading.Cancel();
            if (workTask is not null) { try { await workTask; } catch (OperationCanceledException) { } }
            if (ct.IsCancellationRequested)
            {
                await ReleaseAsync(leaseLock);
                return;
            }
        }
    }

    /// <summary>Gives the lease up by clearing the holder, so another replica can acquire it immediately.</summary>
    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var record = await leaseLock.GetAsync(cts.Token);
            if (record.HolderIdentity != identity) return;
            record.HolderIdentity = "";
            record.LeaseDurationSeconds = 1;
            record.RenewTime = DateTime.UtcNow;
            await leaseLock.UpdateAsync(record, cts.Token);
            IsLeader.WithLabels(leaseName).Set(0);
            logger.LogInformation("released lease {Namespace}/{Lease}", leaseNamespace, leaseName);
        }
        catch (Exception ex)
        {
            logger.LogWarning("could not release lease: {Error}", ex.Message);
        }
    }
}
