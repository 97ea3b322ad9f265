using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Runtime;

/// <summary>
/// What a watch does with one event: the raw form of
/// <see cref="ControllerBuilder.Watches{T}(Informer{T}, Func{T, IEnumerable{ObjectKey}}, EventPredicate{T}[])"/>,
/// for watches that need the old and the new object (controller-runtime's <c>handler.Funcs</c>).
/// </summary>
internal sealed record EventHandlers<T>(Action<T>? Created = null, Action<T, T>? Updated = null, Action<T>? Deleted = null);

/// <summary>
/// The one shape every controller is registered with, after controller-runtime's builder
/// (<c>pkg/builder/controller.go</c>): <see cref="For{T}"/> the object it reconciles,
/// <see cref="Watches{T}(Informer{T}, Func{T, IEnumerable{ObjectKey}}, EventPredicate{T}[])"/> what else maps to its keys, the indexes
/// it reads, predicates on each watch, its queue and workers. A registration reads the caches
/// and never writes them: only informers do.
/// </summary>
internal sealed class ControllerBuilder(string name, TimeProvider time)
{
    private readonly List<Action<WorkQueue<ObjectKey>>> _seeds = [];
    private readonly List<Action> _newTerm = [];
    private readonly List<Func<CancellationToken, Task>> _whileLeading = [];
    private readonly List<IDisposable> _disposables = [];
    private WorkQueue<ObjectKey>? _queue;
    private int _workers = 1;

    public string Name => name;

    /// <summary>The controller's queue (named after it, for the workqueue_* metrics), for sources other than watches.</summary>
    public WorkQueue<ObjectKey> Queue => _queue ??= new WorkQueue<ObjectKey>(name, time);

    /// <summary>The object reconciled: its own events map to its key, and each term starts with every cached one.</summary>
    public ControllerBuilder For<T>(Informer<T> informer, params EventPredicate<T>[] predicates) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        Watches(informer, o => [ObjectKey.Of(o)], predicates);
        _seeds.Add(q =>
        {
            foreach (var o in informer.Store.List()) q.Add(ObjectKey.Of(o));
        });
        return this;
    }

    /// <summary>Events of another kind, mapped to the keys of this controller (controller-runtime's <c>EnqueueRequestsFromMapFunc</c>).</summary>
    public ControllerBuilder Watches<T>(Informer<T> informer, Func<T, IEnumerable<ObjectKey>> map, params EventPredicate<T>[] predicates)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        void Enqueue(T o)
        {
            foreach (var key in map(o)) Queue.Add(key);
        }
        return Watches(informer, new EventHandlers<T>(Enqueue, (_, n) => Enqueue(n), Enqueue), predicates);
    }

    /// <summary>Events handled as they come, with the old and the new object (for sources that are not plain key mappings).</summary>
    public ControllerBuilder Watches<T>(Informer<T> informer, EventHandlers<T> handlers, params EventPredicate<T>[] predicates)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (handlers.Created is { } created) informer.Added += o => { if (predicates.All(p => p.OnCreate(o))) created(o); };
        if (handlers.Updated is { } updated) informer.Updated += (o, n) => { if (predicates.All(p => p.OnUpdate(o, n))) updated(o, n); };
        if (handlers.Deleted is { } deleted) informer.Deleted += o => { if (predicates.All(p => p.OnDelete(o))) deleted(o); };
        return this;
    }

    /// <summary>A secondary index the controller reads; the informer keeps it (declared before the informers start).</summary>
    public ControllerBuilder Index<T>(Store<T> store, string index, Func<T, IEnumerable<string>> indexer) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        store.AddIndex(index, indexer);
        return this;
    }

    public ControllerBuilder Workers(int workers)
    {
        _workers = workers;
        return this;
    }

    /// <summary>Per-term state dropped when a leadership term starts (besides the queue, which is reset anyway).</summary>
    public ControllerBuilder OnNewTerm(Action reset)
    {
        _newTerm.Add(reset);
        return this;
    }

    /// <summary>Something that runs alongside the workers while this process leads (a timer source such as a prober).</summary>
    public ControllerBuilder WhileLeading(Func<CancellationToken, Task> run)
    {
        _whileLeading.Add(run);
        return this;
    }

    /// <summary>Disposed with the registration.</summary>
    public ControllerBuilder Using(IDisposable disposable)
    {
        _disposables.Add(disposable);
        return this;
    }

    /// <summary>The controller: the reconciler behind the queue.</summary>
    public ControllerRegistration Complete(IReconciler reconciler, ILogger<Controller> logger) =>
        new(name, Queue, new Controller(name, reconciler, Queue, _workers, logger), _seeds, _newTerm, _whileLeading, _disposables);

    /// <summary>A registration that only handles events (no reconciler, no queue).</summary>
    public ControllerRegistration Complete() => new(name, null, null, _seeds, _newTerm, _whileLeading, _disposables);
}

/// <summary>One registered controller as the host runs it: term by term, then shut down.</summary>
internal sealed class ControllerRegistration(
    string name,
    WorkQueue<ObjectKey>? queue,
    Controller? controller,
    IReadOnlyList<Action<WorkQueue<ObjectKey>>> seeds,
    IReadOnlyList<Action> newTerm,
    IReadOnlyList<Func<CancellationToken, Task>> whileLeading,
    IReadOnlyList<IDisposable> disposables) : IDisposable
{
    public string Name => name;

    /// <summary>The controller's queue, for the readiness check; null for a registration without a reconciler.</summary>
    public WorkQueue<ObjectKey>? Queue => queue;

    /// <summary>A new leadership term: no verdict, timer or backoff of a previous term drives a decision in this one.</summary>
    public void NewTerm()
    {
        foreach (var reset in newTerm) reset();
        queue?.Reset();
    }

    /// <summary>Level-triggered: every object the controller is for is looked at after a (re)start.</summary>
    public void Seed()
    {
        if (queue is null) return;
        foreach (var seed in seeds) seed(queue);
    }

    public Task RunAsync(CancellationToken leading) =>
        Task.WhenAll(whileLeading.Select(run => run(leading)).Prepend(controller?.RunAsync(leading) ?? Task.CompletedTask));

    public void ShutDown() => queue?.ShutDown();

    public void Dispose()
    {
        foreach (var d in disposables) d.Dispose();
        queue?.Dispose();
    }
}
