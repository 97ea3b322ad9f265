using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Notifications;

/// <summary>What happened; sent as the <c>type</c> field of the webhook body.</summary>
internal enum NotificationType
{
    Failover,
    Failback,
    CircuitOpened,
    RestoreCompleted,
    RestoreFailed,
    ObjectiveBreached,
    DrillPassed,
    DrillFailed,
}

/// <summary>
/// One event for the webhooks of one policy. <see cref="Id"/> (the <c>Idempotency-Key</c>) is
/// derived from namespace, policy, type, <see cref="Time"/> in whole seconds and the optional
/// <see cref="Subject"/>, so the same event enqueued again — by a retried reconcile or after an
/// operator restart — carries the same key. Pass the time the event was recorded (for example the
/// status timestamp of the failover), not the time of the reconcile that reports it.
/// </summary>
internal sealed class Notification
{
    private static readonly IReadOnlyDictionary<string, string> NoDetails = new Dictionary<string, string>();
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

    /// <summary>When the event happened, in UTC and truncated to whole seconds (as Kubernetes timestamps are).</summary>
    public DateTimeOffset Time { get; }

    public string Message { get; }

    /// <summary>Where the event goes (the policy's <c>spec.notifications.webhooks</c>).</summary>
    public IReadOnlyList<WebhookSpec> Webhooks { get; }

    /// <summary>Extra facts (target names, measured RTO, …), sent as the <c>details</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = NoDetails;

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
        var source = string.Join('\n', "v1", Namespace, Policy, Type.ToString(), TimeText, Subject ?? "");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(source));
        return Convert.ToHexStringLower(hash, 0, 16);
    }

    /// <summary>The JSON body: <c>{id, type, namespace, policy, message, time, details}</c>.</summary>
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
            w.WriteString("message", Message);
            w.WriteString("time", TimeText);
            w.WriteStartObject("details");
            foreach (var (key, value) in Details.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value ?? "");
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
