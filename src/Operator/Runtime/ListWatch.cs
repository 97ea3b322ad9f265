using k8s;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>
/// The query of one LIST request: the page size, the continue token of the page before, and the
/// resourceVersion to list at. Null lists the latest state, read from etcd page by page; <c>"0"</c>
/// any recent state, which the API server serves from its watch cache in one response, without
/// reading etcd (the page size then does not apply). A request with a continue token carries no
/// resourceVersion: the token holds it.
/// </summary>
internal sealed record ListQuery(int? Limit, string? Continue, string? ResourceVersion = null);

/// <summary>One page of a LIST: its items, the list's resourceVersion, and the token for the next page (null on the last).</summary>
internal sealed record ListPage<T>(IList<T> Items, string ResourceVersion, string? Continue);

/// <summary>
/// How to list and watch one resource type, in one namespace or all (null).
/// <para>List(namespace, query, ct) returns one page; it throws <see cref="WatchExpiredException"/>
/// when the continue token has expired (410), so that the caller can start the list again.</para>
/// <para>Watch(namespace, resourceVersion, timeoutSeconds, ct) streams events from that resourceVersion.
/// Ending normally means the server (or the timeout) closed the stream and nothing was lost. An ERROR
/// event is never swallowed: the stream throws <see cref="WatchExpiredException"/> for 410 Gone (the
/// resourceVersion is too old, relist) and <see cref="WatchErrorException"/> for anything else.</para>
/// </summary>
internal sealed record ListWatch<T>(
    Func<string?, ListQuery, CancellationToken, Task<ListPage<T>>> List,
    Func<string?, string, int, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> Watch)
    where T : IKubernetesObject<V1ObjectMeta>;
