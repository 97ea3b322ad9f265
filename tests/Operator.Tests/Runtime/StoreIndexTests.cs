using k8s.Models;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>The store's secondary indexes, which keep one key inline and a set only from a second key on.</summary>
public class StoreIndexTests
{
    private const string ByApp = "app";
    private readonly Store<V1Pod> _pods = new();

    public StoreIndexTests() => _pods.AddIndex(ByApp, p => p.Metadata.Labels is { } l && l.TryGetValue("app", out var a) ? [a] : []);

    private static V1Pod Pod(string name, string app, string ns = "shop") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["app"] = app } },
    };

    private string[] Names(string app) => [.. _pods.ByIndex(ByApp, app).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void ByIndex_OneObject_IsFoundAndCounted()
    {
        _pods.Upsert(Pod("a-1", "a"));

        Assert.Equal(["a-1"], Names("a"));
        Assert.Equal(1, _pods.CountByIndex(ByApp, "a"));
    }

    [Fact]
    public void ByIndex_ObjectsSharingAValue_AllFoundUntilEachIsRemoved()
    {
        _pods.Upsert(Pod("a-1", "a"));
        _pods.Upsert(Pod("a-2", "a"));
        _pods.Upsert(Pod("a-3", "a"));
        Assert.Equal(["a-1", "a-2", "a-3"], Names("a"));

        _pods.Remove(new ObjectKey("shop", "a-2"));
        Assert.Equal(["a-1", "a-3"], Names("a"));
        _pods.Remove(new ObjectKey("shop", "a-1"));
        _pods.Remove(new ObjectKey("shop", "a-3"));
        Assert.Empty(Names("a"));
        Assert.Equal(0, _pods.CountByIndex(ByApp, "a"));
    }

    [Fact]
    public void Upsert_ChangedValue_MovesTheObjectToItsNewValueOnly()
    {
        _pods.Upsert(Pod("p", "a"));
        _pods.Upsert(Pod("q", "a"));

        _pods.Upsert(Pod("p", "b"));

        Assert.Equal(["q"], Names("a"));
        Assert.Equal(["p"], Names("b"));
    }

    [Fact]
    public void Upsert_SameObjectAgain_IsIndexedOnce()
    {
        _pods.Upsert(Pod("p", "a"));
        _pods.Upsert(Pod("p", "a"));

        Assert.Equal(1, _pods.CountByIndex(ByApp, "a"));
        _pods.Remove(new ObjectKey("shop", "p"));
        Assert.Equal(0, _pods.CountByIndex(ByApp, "a"));
    }

    [Fact]
    public void Remove_KeyNotUnderTheValue_LeavesTheOtherKey()
    {
        _pods.Upsert(Pod("p", "a"));
        _pods.Upsert(Pod("p", "a", ns: "bank"));

        _pods.Remove(new ObjectKey("bank", "p"));

        Assert.Equal(["p"], Names("a"));
        Assert.Equal("shop", Assert.Single(_pods.ByIndex(ByApp, "a")).Metadata.NamespaceProperty);
    }
}
