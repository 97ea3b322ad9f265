using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>Scheduled backups of the policy's data.</summary>
public sealed class BackupSpec
{
    /// <summary>Cron schedule: 5 fields, or 6 with seconds first (`*/10 * * * * *`), or a macro such as `@daily`.</summary>
    [SchemaRequired]
    [SchemaPattern(CronPattern)]
    public string Schedule { get; set; } = "";

    /// <summary>IANA time zone the schedule is read in (for example `Europe/Berlin`); UTC when absent.</summary>
    [SchemaLength(1, 64)]
    public string? TimeZone { get; set; }

    /// <summary>Where each backup is written: one backup run per location, with the location in `LOCATION`. Defaults to one location, `default`.</summary>
    [SchemaLength(0, 16)]
    [ListSet]
    public IList<string>? Locations { get; set; }

    /// <summary>Which completed backups are kept; the newest completed backup is never deleted.</summary>
    public RetentionSpec? Retention { get; set; }

    /// <summary>
    /// The Job pod template that takes one backup (the team's own backup command). It gets `BACKUP_NAME`,
    /// `POLICY_NAME`, `LOCATION` and `TARGET` in its environment.
    /// </summary>
    [SchemaRequired]
    [PreserveUnknownFields]
    public V1PodTemplateSpec? Template { get; set; }

    /// <summary>
    /// Restore tests: on this schedule the newest unverified completed backup is restored into a scratch copy of its
    /// target (never selected by the Service, removed afterwards) and the verify template judges it. Needs spec.restore.
    /// </summary>
    public BackupVerifySpec? Verify { get; set; }

    /// <summary>Five or six whitespace-separated fields, or a Cronos macro.</summary>
    public const string CronPattern = "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly|every_minute|every_second)|(\\S+\\s+){4,5}\\S+)$";
}

/// <summary>Restore tests of backups.</summary>
public sealed class BackupVerifySpec
{
    /// <summary>Cron schedule of the restore tests: 5 fields, or 6 with seconds first, or a macro such as `@daily`.</summary>
    [SchemaRequired]
    [SchemaPattern(BackupSpec.CronPattern)]
    public string Schedule { get; set; } = "";

    /// <summary>
    /// The Job pod template that checks a restored copy (exit 0 = the backup is good). It gets `BACKUP_NAME`,
    /// `POLICY_NAME`, `LOCATION` and `TARGET` (the scratch copy's name) in its environment.
    /// </summary>
    [SchemaRequired]
    [PreserveUnknownFields]
    public V1PodTemplateSpec? Template { get; set; }
}

/// <summary>Retention of backups, per location.</summary>
public sealed class RetentionSpec
{
    /// <summary>Completed backups kept per location; older ones are deleted.</summary>
    [SchemaRange(1, 1000)]
    public int? KeepLast { get; set; }

    /// <summary>Completed backups older than this are deleted (Go duration such as `168h`).</summary>
    [SchemaPattern(DurationFormat.Pattern)]
    public string? MaxAge { get; set; }
}

/// <summary>How a target is restored.</summary>
public sealed class RestoreSpec
{
    /// <summary>
    /// The Job pod template that restores one backup (the team's own restore command). It gets `BACKUP_NAME`,
    /// `POLICY_NAME`, `LOCATION` and `TARGET` in its environment.
    /// </summary>
    [SchemaRequired]
    [PreserveUnknownFields]
    public V1PodTemplateSpec? Template { get; set; }
}
