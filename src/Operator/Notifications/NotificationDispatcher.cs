using System.Collections.Concurrent;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Notifications;

/// <summary>
/// Connects the informers to the <see cref="Notifier"/>: every change of a policy, restore or
/// drill (as <see cref="NotificationController"/> hands it over) goes to <see cref="NotificationPlanner"/> and what it finds is queued for the
/// policy's webhooks — only while this process leads, so replicas never send twice. Reads the
/// bearer tokens from Secrets (<c>get</c>, cached briefly) and turns a delivery given up into a
/// Warning event <c>NotificationFailed</c> on the policy, naming the webhook's field.
/// </summary>
internal sealed class NotificationDispatcher : IAsyncDisposable
{
    /// <summary>How long a token read from a Secret is reused before it is read again.</summary>
    public static readonly TimeSpan TokenCacheTtl = TimeSpan.FromSeconds(30);

    private readonly IKubernetes _client;
    private readonly Store<ResiliencePolicy> _policies;
    private readonly IEventRecorder _events;
    private readonly Func<bool> _leading;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<(string Ns, string Name), (V1SecretData Data, DateTimeOffset At)> _secrets = new();
    private readonly CancellationTokenSource _stopping = new();

    public NotificationDispatcher(IKubernetes client, Store<ResiliencePolicy> policies, IEventRecorder events, Func<bool> leading,
        NotifierOptions? options, TimeProvider time, ILoggerFactory loggers)
    {
        _client = client;
        _policies = policies;
        _events = events;
        _leading = leading;
        _time = time;
        _log = loggers.CreateLogger<NotificationDispatcher>();
        Notifier = new Notifier(ReadTokenAsync, options, timeProvider: time, logger: loggers.CreateLogger<Notifier>(), onGaveUp: GaveUp);
    }

    /// <summary>A policy first seen (<paramref name="old"/> null) or changed.</summary>
    public void PolicyChanged(ResiliencePolicy? old, ResiliencePolicy p) => Enqueue(() => NotificationPlanner.ForPolicy(old, p, Now));

    /// <summary>A restore first seen (<paramref name="old"/> null) or changed.</summary>
    public void RestoreChanged(ResilienceRestore? old, ResilienceRestore r) =>
        Enqueue(() => NotificationPlanner.ForRestore(old, r, _policies.Get(r.Metadata.NamespaceProperty, r.Spec.Policy), Now));

    /// <summary>A backup first seen (<paramref name="old"/> null) or changed.</summary>
    public void BackupChanged(ResilienceBackup? old, ResilienceBackup b) =>
        Enqueue(() => NotificationPlanner.ForBackup(old, b, _policies.Get(b.Metadata.NamespaceProperty, b.Spec.Policy), Now));

    /// <summary>A drill first seen (<paramref name="old"/> null) or changed.</summary>
    public void DrillChanged(ResilienceDrill? old, ResilienceDrill d) =>
        Enqueue(() => NotificationPlanner.ForDrill(old, d, _policies.Get(d.Metadata.NamespaceProperty, d.Spec.Policy), Now));

    public Notifier Notifier { get; }

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    public Task StartAsync() => Notifier.StartAsync();

    /// <summary>Delivers what is queued for at most <paramref name="drain"/>, then abandons the rest (counted as dropped).</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        using var grace = new CancellationTokenSource(drain);
        await Notifier.StopAsync(grace.Token);
        await _stopping.CancelAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Notifier.DisposeAsync();
        _stopping.Dispose();
    }

    private void Enqueue(Func<IReadOnlyList<Notification>> plan)
    {
        if (!_leading()) return;
        try
        {
            foreach (var n in plan())
            {
                _log.LogInformation("{Namespace}/{Policy}: notifying {Count} webhook(s) of {Type} ({Id})",
                    n.Namespace, n.Policy, n.Webhooks.Count, n.Type, n.Id);
                Notifier.TryEnqueue(n);
            }
        }
        catch (Exception e)
        {
            // Never let a notification problem reach the informer that handed over the change.
            _log.LogError(e, "planning notifications failed");
        }
    }

    private async Task<string?> ReadTokenAsync(string ns, string name, string key, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (!_secrets.TryGetValue((ns, name), out var cached) || now - cached.At > TokenCacheTtl)
        {
            try
            {
                var secret = await _client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct);
                cached = (new V1SecretData(secret.Data), now);
                _secrets[(ns, name)] = cached;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                _secrets.TryRemove((ns, name), out _);
                throw new InvalidOperationException("not found");
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
            {
                throw new InvalidOperationException("forbidden: the operator may not get this Secret");
            }
        }
        return cached.Data.Get(key);
    }

    private void GaveUp(Notification n, int webhookIndex, string error)
    {
        if (_stopping.IsCancellationRequested) return;
        var policy = _policies.Get(n.Namespace, n.Policy);
        if (policy is null || policy.Metadata.DeletionTimestamp is not null) return;
        var message = $"spec.notifications.webhooks[{webhookIndex}].{error}; {n.Type} notification {n.Id} dropped";
        _ = _events.RecordAsync(policy, EventRecorder.Warning, Reasons.NotificationFailed, message, _stopping.Token);
    }

    /// <summary>A Secret's data, trimmed strings by key.</summary>
    private sealed class V1SecretData(IDictionary<string, byte[]>? data)
    {
        private readonly Dictionary<string, string> _values = (data ?? new Dictionary<string, byte[]>())
            .ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value ?? []).Trim(), StringComparer.Ordinal);

        public string? Get(string key) => _values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
    }
}
