using System.Diagnostics;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using ResilienceOperator.Entities;
using ResilienceOperator.Notifications;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Notifications;

public sealed class NotificationDispatcherTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private static readonly NotifierOptions Fast = new()
    {
        MaxAttempts = 2,
        BaseDelay = TimeSpan.FromMilliseconds(10),
        MaxDelay = TimeSpan.FromMilliseconds(50),
        MinimumThroughput = 100,
    };

    private static ResiliencePolicy Policy(string url, FailoverRecord? last = null, string rv = "1") => new()
    {
        Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", Uid = "uid-1", ResourceVersion = rv },
        Spec = new ResiliencePolicySpec { Notifications = new NotificationsSpec { Webhooks = [new WebhookSpec { Url = url }] } },
        Status = new ResiliencePolicyStatus { Failover = new FailoverStatus { Last = last } },
    };

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>The caches and what the informers hand the dispatcher when they change (see NotificationController).</summary>
    private sealed class Fixture
    {
        private NotificationDispatcher? _dispatcher;
        public Store<ResiliencePolicy> Policies { get; } = new();
        public Store<ResilienceRestore> Restores { get; } = new();
        public Mock<IEventRecorder> Events { get; } = new();
        public bool Leading { get; set; }

        public NotificationDispatcher Create() =>
            _dispatcher = new(Mock.Of<IKubernetes>(), Policies, Events.Object, () => Leading, Fast, TimeProvider.System, NullLoggerFactory.Instance);

        public void Seen(ResiliencePolicy p) => _dispatcher!.PolicyChanged(Policies.Upsert(p), p);

        public void Seen(ResilienceRestore r) => _dispatcher!.RestoreChanged(Restores.Upsert(r), r);
    }

    [Fact]
    public async Task ChangesInTheCaches_AreQueuedOnlyWhileLeading_AndARestoreGoesToItsPolicysWebhooks()
    {
        await using var server = LoopbackServer.Start(_ => Task.FromResult(200));
        var f = new Fixture();
        await using var dispatcher = f.Create();
        var policy = Policy(server.Url);
        f.Seen(policy);

        // Not leading: a failover recorded by another replica is its to send.
        f.Seen(Policy(server.Url, new FailoverRecord { From = "primary", To = "standby", Reason = "Failover", Time = T0 }, "2"));
        Assert.Equal(0, dispatcher.Notifier.Pending);

        f.Leading = true;
        var restore = new ResilienceRestore
        {
            Metadata = new V1ObjectMeta { Name = "checkout-restore-1", NamespaceProperty = "shop", ResourceVersion = "5" },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary" },
        };
        f.Seen(restore); // first sighting: nothing
        Assert.Equal(0, dispatcher.Notifier.Pending);
        f.Seen(new ResilienceRestore
        {
            Metadata = restore.Metadata, Spec = restore.Spec,
            Status = new ResilienceRunStatus { Phase = RunPhase.Running, StartTime = T0.AddSeconds(5), Backup = "b-1" },
        });
        Assert.Equal(1, dispatcher.Notifier.Pending);

        await dispatcher.StartAsync();
        await WaitFor(() => dispatcher.Notifier.Delivered == 1, "the restore's notification");
        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        Assert.Equal("RestoreStarted", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("checkout", body.RootElement.GetProperty("policy").GetString());
        Assert.Equal("checkout-restore-1", body.RootElement.GetProperty("involvedObject").GetProperty("name").GetString());
        await dispatcher.StopAsync(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ADeliveryGivenUp_IsAWarningEventOnThePolicy_NamingTheWebhook()
    {
        await using var server = LoopbackServer.Start(_ => Task.FromResult(403));
        var f = new Fixture { Leading = true };
        var recorded = new TaskCompletionSource<(string Type, string Reason, string Message)>(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Events.Setup(e => e.RecordAsync(It.IsAny<IKubernetesObject<V1ObjectMeta>>(), It.IsAny<string>(), It.IsAny<string>(), It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback((IKubernetesObject<V1ObjectMeta> o, string type, string reason, string message, CancellationToken _) => recorded.TrySetResult((type, reason, message)))
            .Returns(Task.CompletedTask);
        await using var dispatcher = f.Create();
        await dispatcher.StartAsync();
        f.Seen(Policy(server.Url));

        f.Seen(Policy(server.Url, new FailoverRecord { From = "primary", To = "standby", Reason = "Failover", Time = T0 }, "2"));

        var (type, reason, message) = await recorded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(("Warning", Reasons.NotificationFailed), (type, reason));
        Assert.StartsWith("spec.notifications.webhooks[0].url: POST ", message);
        Assert.Contains("HTTP 403", message);
        Assert.Contains("Failover notification", message);
        f.Events.Verify(e => e.RecordAsync(It.Is<IKubernetesObject<V1ObjectMeta>>(o => o.Metadata.Name == "checkout"), "Warning",
            Reasons.NotificationFailed, It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(1, dispatcher.Notifier.Failed);
    }
}
