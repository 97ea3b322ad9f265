using System.Text.Json.Serialization;

namespace ResilienceOperator.Entities;

/// <summary>Where a backup or restore run stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunPhase>))]
public enum RunPhase
{
    /// <summary>Accepted; its Job has not started yet.</summary>
    Pending,
    /// <summary>Its Job runs (or waits for the next attempt after a failed one).</summary>
    Running,
    /// <summary>A Job attempt succeeded.</summary>
    Completed,
    /// <summary>Every attempt failed, or the object cannot run (see message).</summary>
    Failed,
}
