using k8s.Models;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public class LabelIndexTests
{
    private readonly Store<V1Pod> _pods = new();

    public LabelIndexTests() => LabelIndex.AddTo(_pods);

    private static V1Pod Pod(string name, string ns, params (string Key, string Value)[] labels) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = ns,
            Labels = labels.ToDictionary(l => l.Key, l => l.Value),
        },
    };

    private static string[] Names(IEnumerable<V1Pod> pods) => [.. pods.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void Matching_ReturnsThePodsWithEveryPairOfTheSelector_InItsNamespaceOnly()
    {
        _pods.Upsert(Pod("primary-1", "shop", ("app", "checkout"), ("track", "primary"), ("pod-template-hash", "abc")));
        _pods.Upsert(Pod("standby-1", "shop", ("app", "checkout"), ("track", "standby")));
        _pods.Upsert(Pod("other-ns", "bank", ("app", "checkout"), ("track", "primary")));
        _pods.Upsert(Pod("cart", "shop", ("app", "cart"), ("track", "primary")));

        var selected = LabelIndex.Matching(_pods, "shop", new Dictionary<string, string> { ["app"] = "checkout", ["track"] = "primary" });

        Assert.Equal(["primary-1"], Names(selected));
    }

    [Fact]
    public void Matching_FollowsRelabelledAndDeletedPods()
    {
        _pods.Upsert(Pod("a", "shop", ("app", "checkout")));
        _pods.Upsert(Pod("b", "shop", ("app", "checkout")));
        var selector = new Dictionary<string, string> { ["app"] = "checkout" };
        Assert.Equal(["a", "b"], Names(LabelIndex.Matching(_pods, "shop", selector)));

        _pods.Upsert(Pod("a", "shop", ("app", "cart")));
        _pods.Remove(new ObjectKey("shop", "b"));

        Assert.Empty(LabelIndex.Matching(_pods, "shop", selector));
        Assert.Equal(["a"], Names(LabelIndex.Matching(_pods, "shop", new Dictionary<string, string> { ["app"] = "cart" })));
    }

    [Fact]
    public void Matching_BySelectorOfUnindexedLabelsOnly_StillFindsThePods()
    {
        _pods.Upsert(Pod("db-0", "shop", ("statefulset.kubernetes.io/pod-name", "db-0")));
        _pods.Upsert(Pod("db-1", "shop", ("statefulset.kubernetes.io/pod-name", "db-1")));

        var selected = LabelIndex.Matching(_pods, "shop", new Dictionary<string, string> { ["statefulset.kubernetes.io/pod-name"] = "db-1" });

        Assert.Equal(["db-1"], Names(selected));
    }

    [Fact]
    public void Matching_AnEmptySelector_MatchesNothing()
    {
        _pods.Upsert(Pod("a", "shop", ("app", "checkout")));

        Assert.Empty(LabelIndex.Matching(_pods, "shop", new Dictionary<string, string>()));
    }

    [Fact]
    public void PerRevisionLabels_AreNotIndexed()
    {
        var values = LabelIndex.Values(Pod("a", "shop", ("app", "checkout"), ("pod-template-hash", "abc"), ("controller-revision-hash", "r1")));

        Assert.Equal(["shop/app=checkout"], values);
    }
}
