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
