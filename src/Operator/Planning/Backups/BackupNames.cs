using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ResilienceOperator.Planning;

/// <summary>
/// Deterministic object names: the same slot, incident or attempt always gives the same name, so
/// a repeated reconcile or a new leader finds (or collides with) what the last one created
/// instead of making a second one. Names stay DNS labels of at most 63 characters, because Jobs
/// and their pods carry them in labels.
/// </summary>
internal static class BackupNames
{
    public const int MaxLength = 63;

    /// <summary>`policy-yyyyMMddHHmmss-location` for a scheduled backup (slot in UTC).</summary>
    public static string Backup(string policy, DateTime slot, string location) =>
        Fit($"{policy}-{slot.ToUniversalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}-{location}");

    /// <summary>`policy-target-yyyyMMddHHmmss` for the restore of one incident (detection time in UTC).</summary>
    public static string Restore(string policy, string target, DateTime detectedAt) =>
        Fit($"{policy}-{target}-{detectedAt.ToUniversalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}");

    /// <summary>The Job of one attempt of a backup or restore.</summary>
    public static string Job(string owner, int attempt) => Fit($"{owner}-{attempt.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The name itself when it fits; otherwise a prefix and a hash of the whole name.</summary>
    public static string Fit(string name)
    {
        name = name.ToLowerInvariant();
        if (name.Length <= MaxLength) return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..10];
        return name[..(MaxLength - hash.Length - 1)].TrimEnd('-', '.') + "-" + hash;
    }
}
