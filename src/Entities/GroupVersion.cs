namespace ResilienceOperator.Entities;

/// <summary>The API group and version of every resource of the operator (resilience.dev/v1alpha1).</summary>
public static class GroupVersion
{
    /// <summary>API group.</summary>
    public const string Group = "resilience.dev";
    /// <summary>API version.</summary>
    public const string Version = "v1alpha1";
    /// <summary>The apiVersion field of the resources: group/version.</summary>
    public const string ApiVersion = Group + "/" + Version;
}
