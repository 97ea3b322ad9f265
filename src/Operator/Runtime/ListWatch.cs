using k8s;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>How to list and watch one resource type, in one namespace or all (null).</summary>
internal sealed record ListWatch<T>(
    Func<string?, CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> List,
    Func<string?, string, int, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> Watch)
    where T : IKubernetesObject<V1ObjectMeta>;
