using System.Globalization;
using Cronos;

namespace ResilienceOperator.Planning;

/// <summary>
/// spec.drills.schedule made usable (5 fields, 6 with seconds first, or a macro; read in UTC), and
/// the deterministic names of scheduled drills. A slot is drilled only close to its due time: a
/// game day missed while the operator was down is not run hours late.
/// </summary>
internal sealed class DrillSchedule(CronExpression cron)
{
    /// <summary>The longest a slot may be late and still be drilled.</summary>
    public static readonly TimeSpan MaxLateness = TimeSpan.FromMinutes(2);

    public static (DrillSchedule? Schedule, string? Error) Parse(string? schedule)
    {
        var text = schedule?.Trim() ?? "";
        if (text.Length == 0) return (null, "spec.drills.schedule: required");
        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (!text.StartsWith('@') && fields is not (5 or 6))
            return (null, $"spec.drills.schedule: \"{text}\" has {fields} fields; use 5 (minute hour day month weekday) or 6 (seconds first)");
        try
        {
            return (new DrillSchedule(CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard)), null);
        }
        catch (CronFormatException ex)
        {
            return (null, $"spec.drills.schedule: \"{text}\" is not a valid cron expression: {ex.Message}");
        }
    }

    /// <summary>The next due time after <paramref name="now"/>.</summary>
    public DateTime? Next(DateTime now) => cron.GetNextOccurrence(BackupSchedule.Utc(now), TimeZoneInfo.Utc);

    /// <summary>
    /// The slot to drill at <paramref name="now"/>: the newest due time not later than now, not
    /// before <paramref name="notBefore"/> (the policy's creation), and at most half a period or
    /// <see cref="MaxLateness"/> ago. Null when there is none.
    /// </summary>
    public DateTime? Due(DateTime now, DateTime notBefore)
    {
        now = BackupSchedule.Utc(now);
        var from = now - MaxLateness;
        if (from < BackupSchedule.Utc(notBefore)) from = BackupSchedule.Utc(notBefore);
        if (from >= now) return null;
        DateTime? last = null;
        foreach (var t in cron.GetOccurrences(from, now, TimeZoneInfo.Utc, fromInclusive: true, toInclusive: true)) last = t;
        if (last is not { } slot) return null;
        var period = cron.GetNextOccurrence(slot, TimeZoneInfo.Utc) is { } n ? n - slot : TimeSpan.MaxValue;
        return now - slot <= period / 2 ? slot : null;
    }

    /// <summary>`policy-drill-yyyyMMddHHmmss` (slot in UTC), fitted to 63 characters with a hash when longer.</summary>
    public static string DrillName(string policy, DateTime slot) =>
        BackupNames.Fit($"{policy}-drill-{BackupSchedule.Utc(slot).ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}");
}
