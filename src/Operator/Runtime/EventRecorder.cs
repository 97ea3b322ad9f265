using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Runtime;

/// <summary>Kubernetes Events about an object, Normal or Warning, with CamelCase reasons.</summary>
internal interface IEventRecorder
{
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken ct = default);
}

/// <summary>
/// Writes core/v1 Events. Repeats of the same (object, reason, message) within a short window bump
/// the count of the existing Event instead of creating another, as the kubelet's recorder does.
/// Failures are logged, never thrown: an event must not fail a reconcile.
/// </summary>
internal sealed class EventRecorder(IKubernetes client, string component, ILogger logger) : IEventRecorder
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    private readonly Dictionary<string, (string Name, int Count, DateTime Last)> _recent = [];
    private readonly Lock _lock = new();

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken ct = default)
    {
        var ns = regarding.Metadata.NamespaceProperty ?? "default";
        var now = DateTime.UtcNow;
        var dedupKey = $"{regarding.Metadata.Uid}/{type}/{reason}/{message}";
        (string Name, int Count, DateTime Last) existing;
        bool repeat;
        lock (_lock)
        {
            repeat = _recent.TryGetValue(dedupKey, out existing) && now - existing.Last < TimeSpan.FromMinutes(10);
            if (_recent.Count > 4096) _recent.Clear();
        }
        try
        {
            if (repeat)
            {
                var count = existing.Count + 1;
                var patch = new V1Patch($$"""{"count":{{count}},"lastTimestamp":"{{now:yyyy-MM-ddTHH:mm:ssZ}}"}""", V1Patch.PatchType.MergePatch);
                await client.CoreV1.PatchNamespacedEventAsync(patch, existing.Name, ns, cancellationToken: ct);
                lock (_lock) _recent[dedupKey] = (existing.Name, count, now);
                return;
            }
            var ev = new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = regarding.Metadata.Name + ".", NamespaceProperty = ns },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = regarding.ApiVersion, Kind = regarding.Kind, Name = regarding.Metadata.Name,
                    NamespaceProperty = ns, Uid = regarding.Metadata.Uid, ResourceVersion = regarding.Metadata.ResourceVersion,
                },
                Type = type, Reason = reason, Message = message, Count = 1,
                FirstTimestamp = now, LastTimestamp = now,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component, ReportingInstance = Environment.MachineName,
            };
            var created = await client.CoreV1.CreateNamespacedEventAsync(ev, ns, cancellationToken: ct);
            lock (_lock) _recent[dedupKey] = (created.Metadata.Name, 1, now);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("could not record event {Reason} on {Namespace}/{Name}: {Error}", reason, ns, regarding.Metadata.Name, ex.Message);
        }
    }
}
