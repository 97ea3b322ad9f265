using k8s.Models;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class PredicatesTests
{
    private static V1ConfigMap Map(string rv, long generation = 1) =>
        new() { Metadata = new V1ObjectMeta { Name = "a", NamespaceProperty = "ns", ResourceVersion = rv, Generation = generation } };

    [Fact]
    public void GenerationChanged_StatusOnlyUpdate_DoesNotPass()
    {
        var p = Predicates.GenerationChanged<V1ConfigMap>();
        Assert.False(p.OnUpdate(Map("5"), Map("6")));
        Assert.True(p.OnUpdate(Map("5"), Map("6", generation: 2)));
        Assert.True(p.OnCreate(Map("5")));
        Assert.True(p.OnDelete(Map("5")));
    }

    [Fact]
    public void ResourceVersionChanged_Resync_DoesNotPass()
    {
        var p = Predicates.ResourceVersionChanged<V1ConfigMap>();
        var same = Map("5");
        Assert.False(p.OnUpdate(same, same));
        Assert.True(p.OnUpdate(Map("5"), Map("6")));
    }

    [Fact]
    public void Or_GenerationChangedOrResync_PassesSpecChangesAndResyncOnly()
    {
        var p = Predicates.Or(Predicates.GenerationChanged<V1ConfigMap>(), Predicates.Resync<V1ConfigMap>());
        var same = Map("5");
        Assert.True(p.OnUpdate(same, same));
        Assert.True(p.OnUpdate(Map("5"), Map("6", generation: 2)));
        Assert.False(p.OnUpdate(Map("5"), Map("6")));
    }

    [Fact]
    public void NotCreatedAndNotDeleted_FilterTheirKindOnly()
    {
        Assert.False(Predicates.NotCreated<V1ConfigMap>().OnCreate(Map("5")));
        Assert.True(Predicates.NotCreated<V1ConfigMap>().OnDelete(Map("5")));
        Assert.False(Predicates.NotDeleted<V1ConfigMap>().OnDelete(Map("5")));
        Assert.True(Predicates.NotDeleted<V1ConfigMap>().OnUpdate(Map("5"), Map("6")));
    }

    [Fact]
    public void StatusOnlyIgnored_StatusWrite_DoesNotPassButAnnotationsAndFinalizersDo()
    {
        var p = Predicates.StatusOnlyIgnored<V1ConfigMap>();
        Assert.False(p.OnUpdate(Map("5"), Map("6")));
        var annotated = Map("7");
        annotated.Metadata.Annotations = new Dictionary<string, string> { ["resilience.dev/failback"] = "true" };
        Assert.True(p.OnUpdate(Map("6"), annotated));
        var finalized = Map("8");
        finalized.Metadata.Finalizers = ["resilience.dev/policy"];
        Assert.True(p.OnUpdate(Map("7"), finalized));
        Assert.True(p.OnUpdate(Map("8"), Map("9", generation: 2)));
    }
}
