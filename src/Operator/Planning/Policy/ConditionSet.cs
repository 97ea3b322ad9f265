using k8s.Models;

namespace ResilienceOperator.Planning;

/// <summary>
/// metav1.Condition bookkeeping as the API conventions ask: keyed by type, every known type
/// present, lastTransitionTime moved only when the status changes.
/// </summary>
internal static class ConditionSet
{
    public const string Ready = "Ready";
    public const string Healthy = "Healthy";
    public const string FailedOver = "FailedOver";
    public const string CircuitOpen = "CircuitOpen";
    public const string Degraded = "Degraded";
    public const string BackupsHealthy = "BackupsHealthy";
    public const string ObjectivesMet = "ObjectivesMet";
    public const string Succeeded = "Succeeded";

    public static readonly string[] PolicyTypes = [Ready, Healthy, Degraded, FailedOver, CircuitOpen, BackupsHealthy, ObjectivesMet];

    public static void Set(IList<V1Condition> conditions, string type, string status, string reason, string message, long? generation, DateTime now)
    {
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            if (c.Type != type) continue;
            var transition = c.Status == status ? c.LastTransitionTime : now;
            conditions[i] = new V1Condition
            {
                LastTransitionTime = transition, Message = message, Reason = reason, Status = status, Type = type,
                ObservedGeneration = generation,
            };
            return;
        }
        conditions.Add(new V1Condition
        {
            LastTransitionTime = now, Message = message, Reason = reason, Status = status, Type = type,
            ObservedGeneration = generation,
        });
    }

    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";
}
