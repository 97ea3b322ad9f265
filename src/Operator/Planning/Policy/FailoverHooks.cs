using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>spec.failover.fencing and spec.failover.hooks, checked and with their timeouts parsed.</summary>
internal sealed record FailoverHooks(
    FencingMode Fencing,
    V1PodTemplateSpec? FenceTemplate,
    bool FenceScaleToZero,
    TimeSpan FenceTimeout,
    V1PodTemplateSpec? PromoteTemplate,
    TimeSpan PromoteTimeout)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    public static readonly FailoverHooks None = new(FencingMode.BestEffort, null, false, DefaultTimeout, null, DefaultTimeout);

    /// <summary>Whether a failover goes through the fence, promote and switch steps rather than switching at once.</summary>
    public bool Stepped => HasFence || PromoteTemplate is not null || Fencing == FencingMode.Required;

    public bool HasFence => FenceTemplate is not null || FenceScaleToZero;

    /// <summary>
    /// Why spec.failover.hooks cannot be used with spec.mode; null when it can. In ActiveActive every target serves at
    /// once: there is no single primary to fence, nor one to promote in its place. Part of <see cref="EffectiveSpec.From"/>,
    /// so the admission webhook denies it and the reconciler reports it as Ready=False, reason InvalidSpec, in the same words.
    /// </summary>
    public static string? ModeError(ResilienceMode mode, FailoverHooksSpec? hooks)
    {
        if (mode != ResilienceMode.ActiveActive || hooks is null) return null;
        var fields = new[] { hooks.Fence is null ? null : "spec.failover.hooks.fence", hooks.Promote is null ? null : "spec.failover.hooks.promote" }
            .OfType<string>().ToList();
        return fields.Count == 0 ? null
            : $"{string.Join(", ", fields)}: not allowed with spec.mode ActiveActive (every target serves at once: " +
                "there is no single primary to fence or to promote another in its place)";
    }

    public static (FailoverHooks? Hooks, string? Error) From(FailoverSpec fo)
    {
        var fence = fo.Hooks?.Fence;
        var promote = fo.Hooks?.Promote;
        var fenceTimeout = DefaultTimeout;
        var promoteTimeout = DefaultTimeout;
        if (fence is not null)
        {
            if (fence.ScaleToZero == true && fence.Template is not null)
                return (null, "spec.failover.hooks.fence: set template or scaleToZero, not both");
            if (fence.ScaleToZero != true && fence.Template is null)
                return (null, "spec.failover.hooks.fence: set template (a Job) or scaleToZero: true");
            if (fence.Template is not null && fence.Template.Spec?.Containers is not { Count: > 0 })
                return (null, "spec.failover.hooks.fence.template.spec.containers: at least one container is required");
            if (!GoDuration.TryParse(fence.Timeout, out fenceTimeout) || fenceTimeout <= TimeSpan.Zero)
                return (null, $"spec.failover.hooks.fence.timeout: \"{fence.Timeout}\" is not a positive duration");
        }
        if (promote is not null)
        {
            if (promote.Template?.Spec?.Containers is not { Count: > 0 })
                return (null, "spec.failover.hooks.promote.template: a pod template with at least one container is required");
            if (!GoDuration.TryParse(promote.Timeout, out promoteTimeout) || promoteTimeout <= TimeSpan.Zero)
                return (null, $"spec.failover.hooks.promote.timeout: \"{promote.Timeout}\" is not a positive duration");
        }
        return (new FailoverHooks(fo.Fencing, fence?.Template, fence?.ScaleToZero == true, fenceTimeout, promote?.Template, promoteTimeout), null);
    }
}
