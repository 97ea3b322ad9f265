using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>What happened; sent as the <c>type</c> field of the webhook body (the reason of the matching Kubernetes Event).</summary>
internal enum NotificationType
{
    Failover,
    Failback,
    ManualFailback,
    CircuitOpen,
    RestoreStarted,
    RestoreCompleted,
    RestoreFailed,
    ObjectivesBreached,
    DrillPassed,
    DrillFailed,
    DrillAborted,
    /// <summary>A fence hook failed or timed out: the failover stopped, traffic stayed.</summary>
    FenceFailed,
    /// <summary>A promote hook failed or timed out: the failover stopped, traffic stayed.</summary>
    PromoteFailed,
    BackupVerified,
    BackupVerificationFailed,
}

/// <summary>The object an event is about (the policy, a ResilienceRestore, a ResilienceDrill or a ResilienceBackup).</summary>
internal sealed record InvolvedObject(string Kind, string Name, string? Uid = null);

/// <summary>
/// One event for the webhooks of one policy. <see cref="Id"/> (the <c>Idempotency-Key</c>) is
/// derived from namespace, policy, policy uid, type, <see cref="Time"/> in whole seconds and the
/// optional <see cref="Subject"/>, so the same event enqueued again — by a retried reconcile or after
/// an operator restart — carries the same key. Pass the time the event was recorded (for example the
/// status timestamp of the failover), not the time of the reconcile that reports it.
/// </summary>
internal sealed class Notification
{
    private static readonly IReadOnlyDictionary<string, object?> NoDetails = new Dictionary<string, object?>();
    private string? _id;

    public Notification(NotificationType type, string @namespace, string policy, DateTimeOffset time, string message, IReadOnlyList<WebhookSpec> webhooks)
    {
        Type = type;
        Namespace = @namespace ?? "";
        Policy = policy ?? "";
        var utc = time.ToUniversalTime();
        Time = new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        Message = message ?? "";
        Webhooks = webhooks ?? [];
    }

    public NotificationType Type { get; }

    public string Namespace { get; }

    public string Policy { get; }

    /// <summary>The policy's metadata.uid: part of <see cref="Id"/>, so a policy deleted and created again under the same name gets new keys.</summary>
    public string? PolicyUid { get; init; }

    /// <summary>The object the event is about; the policy itself when null.</summary>
    public InvolvedObject? Involved { get; init; }

    /// <summary>When the event happened, in UTC and truncated to whole seconds (as Kubernetes timestamps are).</summary>
    public DateTimeOffset Time { get; }

    public string Message { get; }

    /// <summary>Where the event goes (the policy's <c>spec.notifications.webhooks</c>).</summary>
    public IReadOnlyList<WebhookSpec> Webhooks { get; }

    /// <summary>
    /// Extra facts (target names, measured RTO, …), sent as the <c>details</c> object. Values are
    /// strings, numbers or booleans; null values are left out.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Details { get; init; } = NoDetails;

    /// <summary>
    /// Optional discriminator that is part of <see cref="Id"/> but not of the body, for two events
    /// of one type and policy within the same second (for example the restore or drill name).
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>Deterministic event id, sent as <c>id</c> and as the <c>Idempotency-Key</c> header.</summary>
    public string Id => _id ??= ComputeId();

    private string TimeText => Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private string ComputeId()
    {
        var source = string.Join('\n', "v1", Namespace, Policy, PolicyUid ?? "", Type.ToString(), TimeText, Subject ?? "");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(source));
        return Convert.ToHexStringLower(hash, 0, 16);
    }

    /// <summary>The JSON body: <c>{id, type, namespace, policy, involvedObject, message, time, details}</c>.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("type", Type.ToString());
            w.WriteString("namespace", Namespace);
            w.WriteString("policy", Policy);
            var involved = Involved ?? new InvolvedObject(ResiliencePolicy.KubeKind, Policy, PolicyUid);
            w.WriteStartObject("involvedObject");
            w.WriteString("apiVersion", GroupVersion.ApiVersion);
            w.WriteString("kind", involved.Kind);
            w.WriteString("name", involved.Name);
            if (!string.IsNullOrEmpty(involved.Uid))
            {
                w.WriteString("uid", involved.Uid);
            }
            w.WriteEndObject();
            w.WriteString("message", Message);
            w.WriteString("time", TimeText);
            w.WriteStartObject("details");
            foreach (var (key, value) in Details.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                switch (value)
                {
                    case null:
                        break;
                    case bool b:
                        w.WriteBoolean(key, b);
                        break;
                    case int i:
                        w.WriteNumber(key, i);
                        break;
                    case long l:
                        w.WriteNumber(key, l);
                        break;
                    case double d:
                        w.WriteNumber(key, d);
                        break;
                    case DateTime t:
                        w.WriteString(key, Kubernetes(t));
                        break;
                    default:
                        w.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static string Kubernetes(DateTime t) =>
        DateTime.SpecifyKind(t, t.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : t.Kind).ToUniversalTime()
            .ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
