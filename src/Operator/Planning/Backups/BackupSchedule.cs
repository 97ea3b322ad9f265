using System.Text.RegularExpressions;
using Cronos;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// spec.backup and spec.restore made usable: the cron expression parsed (5 fields, 6 with
/// seconds, or a macro), the time zone found, retention parsed, or the first field that is wrong.
/// Kept apart from <see cref="EffectiveSpec"/> so a broken backup block never stops failover.
/// </summary>
internal sealed partial record BackupSchedule(
    CronExpression Cron,
    TimeZoneInfo Zone,
    IReadOnlyList<string> Locations,
    int? KeepLast,
    TimeSpan? MaxAge,
    V1PodTemplateSpec Template)
{
    public const string DefaultLocation = "default";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Label();

    public static (BackupSchedule? Schedule, string? Error) From(BackupSpec spec)
    {
        var text = spec.Schedule?.Trim() ?? "";
        if (text.Length == 0) return (null, "spec.backup.schedule: required");
        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (!text.StartsWith('@') && fields is not (5 or 6))
            return (null, $"spec.backup.schedule: \"{text}\" has {fields} fields; use 5 (minute hour day month weekday) or 6 (seconds first)");
        CronExpression cron;
        try
        {
            cron = CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            return (null, $"spec.backup.schedule: \"{text}\" is not a valid cron expression: {ex.Message}");
        }
        var zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrEmpty(spec.TimeZone))
        {
            try { zone = TimeZoneInfo.FindSystemTimeZoneById(spec.TimeZone); }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                return (null, $"spec.backup.timeZone: unknown time zone \"{spec.TimeZone}\" (use an IANA name such as Europe/Berlin)");
            }
        }
        var locations = spec.Locations is { Count: > 0 } l ? l : [DefaultLocation];
        for (var i = 0; i < locations.Count; i++)
        {
            if (locations[i] is null || locations[i].Length > 30 || !Label().IsMatch(locations[i]))
                return (null, $"spec.backup.locations[{i}]: \"{locations[i]}\" must be a lowercase DNS label of at most 30 characters");
            for (var j = 0; j < i; j++)
                if (locations[j] == locations[i]) return (null, $"spec.backup.locations[{i}]: duplicate location \"{locations[i]}\"");
        }
        TimeSpan? maxAge = null;
        if (spec.Retention?.MaxAge is { } maxAgeText)
        {
            if (!GoDuration.TryParse(maxAgeText, out var m) || m <= TimeSpan.Zero)
                return (null, $"spec.backup.retention.maxAge: \"{maxAgeText}\" is not a positive duration");
            maxAge = m;
        }
        if (spec.Retention?.KeepLast is < 1) return (null, "spec.backup.retention.keepLast: must be at least 1");
        if (spec.Template?.Spec?.Containers is not { Count: > 0 })
            return (null, "spec.backup.template: required, a pod template with at least one container (spec.containers)");
        return (new BackupSchedule(cron, zone, [.. locations], spec.Retention?.KeepLast, maxAge, spec.Template), null);
    }

    /// <summary>The first due time after <paramref name="after"/>, if the expression ever fires again.</summary>
    public DateTime? Next(DateTime after) => Cron.GetNextOccurrence(Utc(after), Zone);

    /// <summary>
    /// The newest due time in (<paramref name="after"/>, <paramref name="now"/>], or null. Cron has
    /// no "previous occurrence", so windows growing back from now are searched: cheap for dense
    /// schedules, a few steps for sparse ones, and never a walk through every missed slot.
    /// </summary>
    public DateTime? LatestDue(DateTime after, DateTime now)
    {
        after = Utc(after);
        now = Utc(now);
        if (now <= after) return null;
        var first = Next(now);
        var second = first is { } f ? Next(f) : null;
        var window = first is { } a && second is { } b ? (b - a) * 2 : TimeSpan.FromDays(1);
        if (window < TimeSpan.FromSeconds(2)) window = TimeSpan.FromSeconds(2);
        while (true)
        {
            var from = now - window > after ? now - window : after;
            DateTime? last = null;
            foreach (var t in Cron.GetOccurrences(from, now, Zone, fromInclusive: false, toInclusive: true)) last = t;
            if (last is not null || from == after) return last;
            window *= 4;
        }
    }

    /// <summary>The schedule's period at a due time: from it to the next one.</summary>
    public TimeSpan PeriodAt(DateTime slot) => Next(slot) is { } n ? n - Utc(slot) : TimeSpan.MaxValue;

    internal static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };
}
