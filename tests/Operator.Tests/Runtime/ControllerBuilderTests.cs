using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class ControllerBuilderTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly FakeListWatch _api = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    private sealed class NoReconcile : IReconciler
    {
        public Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct) => Task.FromResult(ReconcileResult.Done);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Bound);
        _stop.Dispose();
    }

    private static async Task<List<ObjectKey>> DrainAsync(WorkQueue<ObjectKey> queue)
    {
        var keys = new List<ObjectKey>();
        while (queue.Length > 0)
        {
            var (_, key) = await queue.GetAsync(CancellationToken.None).WaitAsync(Bound);
            keys.Add(key);
            queue.Done(key);
        }
        return [.. keys.OrderBy(k => k.Name, StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Registration_EventsMappedThroughPredicates_SeedsEveryObjectItIsFor()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"), FakeListWatch.Object("b", "6"));
        var informer = new Informer<V1ConfigMap>("configmaps", _api.ListWatch, ["ns"], NullLogger.Instance);
        var indexed = new List<string>();
        var builder = new ControllerBuilder("configmap", TimeProvider.System);
        using var registration = builder
            .Index(informer.Store, "by-name", o => [o.Metadata.Name])
            .For(informer)
            .Watches(informer, o => [new ObjectKey("ns", "owner-of-" + o.Metadata.Name)], Predicates.Resync<V1ConfigMap>())
            .Complete(new NoReconcile(), NullLogger<Controller>.Instance);
        _run = Task.Run(() => informer.RunAsync(_stop.Token));
        while (!informer.HasSynced) await Task.Delay(10);

        Assert.Equal("configmap", registration.Queue!.Name);
        Assert.Equal("a", Assert.Single(informer.Store.ByIndex("by-name", "a")).Metadata.Name);
        // Created: the object's own key; the resync-only watch lets nothing through.
        Assert.Equal([new ObjectKey("ns", "a"), new ObjectKey("ns", "b")], await DrainAsync(registration.Queue));

        informer.Resync();
        Assert.Equal([new ObjectKey("ns", "a"), new ObjectKey("ns", "b"), new ObjectKey("ns", "owner-of-a"), new ObjectKey("ns", "owner-of-b")],
            await DrainAsync(registration.Queue));

        informer.Resync();
        registration.NewTerm(); // what a previous term queued is dropped...
        Assert.Equal(0, registration.Queue.Length);
        registration.Seed(); // ...and the new term looks at every object it is for
        Assert.Equal([new ObjectKey("ns", "a"), new ObjectKey("ns", "b")], await DrainAsync(registration.Queue));
    }

    [Fact]
    public void Complete_WithoutReconciler_HasNoQueue()
    {
        var informer = new Informer<V1ConfigMap>("configmaps", _api.ListWatch, ["ns"], NullLogger.Instance);
        var seen = 0;
        using var registration = new ControllerBuilder("watch-only", TimeProvider.System)
            .Watches(informer, new EventHandlers<V1ConfigMap>(Updated: (_, _) => seen++))
            .Complete();
        Assert.Null(registration.Queue);
        registration.Seed();
        Assert.Equal(0, seen);
    }
}
