using k8s.Models;
using ResilienceOperator.Controllers;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Controllers;

public sealed class PolicyShardTests
{
    private static ResilienceBackup Backup(Dictionary<string, string>? labels = null) =>
        new() { Metadata = new V1ObjectMeta { Name = "b1", NamespaceProperty = "ns", Labels = labels }, Spec = new() { Policy = "web" } };

    private static (PolicyShard Shard, List<string> Gets) Make(string selector, bool cached, bool existsInCluster)
    {
        var store = new Store<ResiliencePolicy>();
        if (cached) store.Upsert(new ResiliencePolicy { Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "ns", ResourceVersion = "1" } });
        Assert.True(LabelSelector.TryParse(selector, out var s, out _));
        var gets = new List<string>();
        return (new PolicyShard(s, store, (ns, name, _) =>
        {
            gets.Add(ns + "/" + name);
            return Task.FromResult(existsInCluster);
        }), gets);
    }

    [Fact]
    public async Task PolicyInThisShardsCache_RunIsMine()
    {
        var (shard, gets) = Make("resilience.dev/shard=a", cached: true, existsInCluster: true);
        var (mine, policy) = await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None);
        Assert.True(mine);
        Assert.Equal("web", policy?.Metadata.Name);
        Assert.Empty(gets);
    }

    [Fact]
    public async Task PolicyInAnotherShard_RunIsNotMine_EvenWhenTheRunsLabelsMatch()
    {
        // The unlabelled backup matches the default shard's selector, but its policy lives in shard a (or is being handed over).
        var (shard, gets) = Make("!resilience.dev/shard", cached: false, existsInCluster: true);
        var (mine, _) = await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None);
        Assert.False(mine);
        Assert.Equal(["ns/web"], gets);
    }

    [Fact]
    public async Task PolicyNowhere_OnlyTheShardMatchingTheRunsLabelsReportsIt()
    {
        var (defaultShard, _) = Make("!resilience.dev/shard", cached: false, existsInCluster: false);
        var (shardA, gets) = Make("resilience.dev/shard=a", cached: false, existsInCluster: false);
        Assert.Equal((true, null), await defaultShard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Equal((false, null), await shardA.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Empty(gets); // a run that is not its own by label costs shard a no API call
        var labelled = Backup(new() { ["resilience.dev/shard"] = "a" });
        Assert.Equal((false, null), await defaultShard.OwnerOfRunAsync(labelled, "web", CancellationToken.None));
        Assert.Equal((true, null), await shardA.OwnerOfRunAsync(labelled, "web", CancellationToken.None));
    }

    [Fact]
    public async Task PolicyInAnotherShard_OneGetAMinute_ButGoneIsCheckedEveryTime()
    {
        var store = new Store<ResiliencePolicy>();
        Assert.True(LabelSelector.TryParse("!resilience.dev/shard", out var s, out _));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (gets, exists) = (0, true);
        var shard = new PolicyShard(s, store, (_, _, _) => { gets++; return Task.FromResult(exists); }, time);
        for (var i = 0; i < 3; i++) Assert.Equal((false, null), await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Equal(1, gets);
        time.Advance(PolicyShard.ElsewhereFor);
        exists = false;
        Assert.Equal((true, null), await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Equal((true, null), await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Equal(3, gets);
    }

    [Fact]
    public async Task Unsharded_TheCacheIsTheWholeAnswer()
    {
        var (shard, gets) = Make("", cached: false, existsInCluster: true);
        Assert.Equal((true, null), await shard.OwnerOfRunAsync(Backup(), "web", CancellationToken.None));
        Assert.Empty(gets);
    }
}
