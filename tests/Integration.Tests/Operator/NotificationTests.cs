using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.Notifications;
using ResilienceOperator.Planning;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>
/// Webhook notifications on the local control plane, to a real HTTP server on 127.0.0.1 that
/// fails the first attempts of every event.
/// </summary>
[Collection("cluster")]
public sealed class NotificationTests(ClusterFixture cluster)
{
    // Quick retries and a short circuit break so that a test waits seconds, not minutes; the
    // behaviour is the one of the defaults.
    private static readonly NotifierOptions Quick = new()
    {
        MaxAttempts = 8,
        BaseDelay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(2),
        AttemptTimeout = TimeSpan.FromSeconds(5),
        SamplingDuration = TimeSpan.FromSeconds(10),
        BreakDuration = TimeSpan.FromSeconds(1),
    };

    private static ResiliencePolicy PolicyWithWebhook(string ns, string url, string secret = "hook-token") => Scenario.Policy(ns, spec =>
        spec.Notifications = new NotificationsSpec
        {
            Webhooks = [new WebhookSpec { Url = url, SecretRef = new SecretKeyReference { Name = secret, Key = "token" } }],
        });

    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, Func<string, ResiliencePolicy> policy, NotifierOptions options)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace, o => o.Notifications = options);
        await s.ApplyPolicyAsync(policy(s.Namespace));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        return (s, op);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailoverAndFailback_EachDeliveredOncePerKey_WithTheBearerToken_NoneLostWhileTheWebhookRecovers()
    {
        const int failFirst = 3;
        await using var receiver = WebhookReceiver.Start(attempt => attempt <= failFirst ? 503 : 200);
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var s = await Scenario.CreateAsync(cluster, "notify");
        await s.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "hook-token" },
            StringData = new Dictionary<string, string> { ["token"] = token },
        }, s.Namespace);
        await s.WaitForReadyAsync("primary", 2);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace, o => o.Notifications = Quick);
        await s.ApplyPolicyAsync(PolicyWithWebhook(s.Namespace, receiver.Url + "events"));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        Assert.Empty(receiver.Requests); // a policy at rest sends nothing

        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        var failover = await receiver.WaitForDeliveredAsync("Failover", TimeSpan.FromSeconds(60));
        var failedOverStatus = (await s.GetPolicyAsync()).Status!.Failover!.Last!;

        await s.SetFaultAsync("primary", null);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
        var failback = await receiver.WaitForDeliveredAsync("Failback", TimeSpan.FromSeconds(60));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failback",
            TimeSpan.FromSeconds(10), "the failback recorded in status");
        var failedBackStatus = (await s.GetPolicyAsync()).Status!.Failover!.Last!;

        var requests = receiver.Requests.ToList();
        // Every request: POST, JSON, the key, and the token read from the Secret.
        Assert.All(requests, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("/events", r.Path);
            Assert.StartsWith("application/json", r.ContentType);
            Assert.Equal("Bearer " + token, r.Authorization);
            Assert.Matches("^[0-9a-f]{32}$", r.Key);
        });
        // Each distinct key answered 2xx exactly once; retries carried the same key and body.
        foreach (var byKey in requests.GroupBy(r => r.Key))
        {
            var attempts = byKey.OrderBy(r => r.Sequence).ToList();
            Assert.Equal(1, attempts.Count(r => r.Status == 200));
            Assert.Equal(failFirst + 1, attempts.Count);
            Assert.Equal(200, attempts[^1].Status);
            Assert.Single(attempts.Select(r => r.Body).Distinct());
        }
        // None lost: both switches arrived, and nothing else.
        var delivered = requests.Where(r => r.Status == 200).Select(r => r.Json.GetProperty("type").GetString()).ToList();
        Assert.Equal(["Failover", "Failback"], delivered);

        foreach (var (body, record) in new[] { (failover, failedOverStatus), (failback, failedBackStatus) })
        {
            Assert.Equal(s.Namespace, body.GetProperty("namespace").GetString());
            Assert.Equal("checkout", body.GetProperty("policy").GetString());
            Assert.Equal("ResiliencePolicy", body.GetProperty("involvedObject").GetProperty("kind").GetString());
            Assert.Equal(record.From, body.GetProperty("details").GetProperty("from").GetString());
            Assert.Equal(record.To, body.GetProperty("details").GetProperty("to").GetString());
            // The time is the switch recorded in status, so the key does not depend on when it was sent.
            Assert.Equal(record.Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), body.GetProperty("time").GetString());
        }
        Assert.Equal(("primary", "standby"), (failover.GetProperty("details").GetProperty("from").GetString(), failover.GetProperty("details").GetProperty("to").GetString()));
        Assert.True(failover.GetProperty("details").GetProperty("detectionSeconds").GetDouble() > 0);
        Assert.Equal(("standby", "primary"), (failback.GetProperty("details").GetProperty("from").GetString(), failback.GetProperty("details").GetProperty("to").GetString()));
        Assert.DoesNotContain(await s.PolicyEventsAsync(), e => e.Reason == Reasons.NotificationFailed);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task MissingSecret_WarningEventNamingTheSecretRef_NotSentWithoutToken_FailoverUnaffected()
    {
        await using var receiver = WebhookReceiver.Start(_ => 200);
        var failed = Prometheus.Metrics.CreateCounter("resilience_notifications_total", "", "result").WithLabels("failed");
        var failedBefore = failed.Value;
        var (s, op) = await StartAsync("notify-nosecret", ns => PolicyWithWebhook(ns, receiver.Url, secret: "no-such-secret"),
            Quick with { MaxAttempts = 3 });
        await using var _ = op;

        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await ClusterFixture.WaitUntilAsync(async () => (await s.PolicyEventsAsync()).Any(e => e.Reason == Reasons.NotificationFailed),
            TimeSpan.FromSeconds(30), "a NotificationFailed event");

        var warning = Assert.Single(await s.EventsOnceAsync(e => e.Reason == Reasons.NotificationFailed), e => e.Reason == Reasons.NotificationFailed);
        Assert.Equal("Warning", warning.Type);
        Assert.StartsWith("spec.notifications.webhooks[0].secretRef: ", warning.Message);
        Assert.Contains($"Secret {s.Namespace}/no-such-secret", warning.Message);
        Assert.Contains("not found", warning.Message);
        Assert.Contains("Failover notification", warning.Message);
        Assert.Empty(receiver.Requests); // never called without the token
        Assert.True(failed.Value - failedBefore >= 1, "the given-up delivery is counted as failed");
        // Nothing else is affected: the failover is recorded and the policy serves from the standby.
        await s.WaitForConditionAsync("FailedOver", "True");
        Assert.Equal("standby", await s.SelectedAppAsync());
        Assert.Equal("Failover", (await s.GetPolicyAsync()).Status!.Failover!.Last!.Reason);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task DrillVerdict_DeliveredWithResultAndMeasuredRto()
    {
        await using var receiver = WebhookReceiver.Start(attempt => attempt == 1 ? 503 : 200);
        var (s, op) = await StartAsync("notify-drill", ns =>
        {
            var p = Scenario.Policy(ns, spec =>
            {
                spec.Objectives = new ObjectivesSpec { Rto = "20s" };
                spec.Notifications = new NotificationsSpec { Webhooks = [new WebhookSpec { Url = receiver.Url }] };
            });
            return p;
        }, Quick);
        await using var _ = op;

        var drill = new ResilienceDrill
        {
            Metadata = new V1ObjectMeta { Name = "game-day", NamespaceProperty = s.Namespace },
            Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.KillPods },
        };
        await s.Client.CustomObjects.CreateNamespacedCustomObjectAsync(drill, GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName);
        var body = await receiver.WaitForDeliveredAsync("DrillPassed", TimeSpan.FromSeconds(40));

        var status = KubernetesJson.Deserialize<ResilienceDrill>((JsonElement)await s.Client.CustomObjects.GetNamespacedCustomObjectAsync(
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName, "game-day")).Status!;
        Assert.Equal(DrillPhase.Passed, status.Phase);
        var details = body.GetProperty("details");
        Assert.Equal("Passed", details.GetProperty("result").GetString());
        Assert.Equal("game-day", details.GetProperty("drill").GetString());
        Assert.Equal(status.RtoSeconds!.Value, details.GetProperty("rtoSeconds").GetDouble(), 3);
        Assert.Equal(20, details.GetProperty("rtoObjectiveSeconds").GetDouble());
        Assert.Equal("ResilienceDrill", body.GetProperty("involvedObject").GetProperty("kind").GetString());
        Assert.Equal("game-day", body.GetProperty("involvedObject").GetProperty("name").GetString());
        Assert.Equal("checkout", body.GetProperty("policy").GetString());
        // Retried once under the same key (the body's id), delivered once.
        var requests = receiver.Requests.Where(r => r.Key == body.GetProperty("id").GetString()).OrderBy(r => r.Sequence).ToList();
        Assert.Equal([503, 200], requests.Select(r => r.Status));
        Assert.Single(requests.Select(r => r.Body).Distinct());
        Assert.All(requests, r => Assert.Null(r.Authorization)); // no secretRef, no token
    }

    /// <summary>A webhook endpoint on 127.0.0.1 that answers by attempt number per Idempotency-Key and records every request.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        internal sealed record Request(int Sequence, string Method, string Path, string? Key, string? Authorization, string? ContentType, string Body, int Status)
        {
            public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        }

        private readonly HttpListener _listener;
        private readonly Func<int, int> _answer;
        private readonly ConcurrentDictionary<string, int> _attempts = new();
        private readonly ConcurrentQueue<Request> _requests = new();
        private readonly Task _loop;
        private int _sequence;

        private WebhookReceiver(HttpListener listener, string url, Func<int, int> answer)
        {
            _listener = listener;
            Url = url;
            _answer = answer;
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public IReadOnlyCollection<Request> Requests => _requests;

        public static WebhookReceiver Start(Func<int, int> answerForAttempt)
        {
            for (var tries = 0; ; tries++)
            {
                int port;
                using (var probe = new TcpListener(IPAddress.Loopback, 0))
                {
                    probe.Start();
                    port = ((IPEndPoint)probe.LocalEndpoint).Port;
                }
                var url = $"http://127.0.0.1:{port}/";
                var listener = new HttpListener();
                listener.Prefixes.Add(url);
                try
                {
                    listener.Start();
                    return new WebhookReceiver(listener, url, answerForAttempt);
                }
                catch (HttpListenerException) when (tries < 20)
                {
                    listener.Close();
                }
            }
        }

        /// <summary>Waits for a 2xx answer to an event of the given type; returns its body.</summary>
        public async Task<JsonElement> WaitForDeliveredAsync(string type, TimeSpan timeout)
        {
            JsonElement? found = null;
            await ClusterFixture.WaitUntilAsync(() =>
            {
                found = _requests.Where(r => r.Status is >= 200 and < 300).Select(r => r.Json)
                    .Cast<JsonElement?>().FirstOrDefault(j => j!.Value.GetProperty("type").GetString() == type);
                return Task.FromResult(found is not null);
            }, timeout, $"a {type} notification delivered");
            return found!.Value;
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                try
                {
                    var r = context.Request;
                    using var reader = new StreamReader(r.InputStream, Encoding.UTF8);
                    var body = await reader.ReadToEndAsync();
                    var key = r.Headers["Idempotency-Key"];
                    var attempt = _attempts.AddOrUpdate(key ?? "", 1, (_, n) => n + 1);
                    var status = _answer(attempt);
                    _requests.Enqueue(new Request(Interlocked.Increment(ref _sequence), r.HttpMethod, r.Url!.AbsolutePath, key, r.Headers["Authorization"], r.ContentType, body, status));
                    context.Response.StatusCode = status;
                    context.Response.ContentLength64 = 0;
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop;
        }
    }
}
