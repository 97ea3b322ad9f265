using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Polly.CircuitBreaker;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Notifications;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Notifications;

public sealed class NotifierTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly NotifierOptions Fast = new()
    {
        MaxAttempts = 10,
        BaseDelay = TimeSpan.FromMilliseconds(10),
        MaxDelay = TimeSpan.FromMilliseconds(100),
        AttemptTimeout = TimeSpan.FromSeconds(10),
        FailureRatio = 0.9,
        MinimumThroughput = 3,
        SamplingDuration = TimeSpan.FromSeconds(2),
        BreakDuration = TimeSpan.FromMilliseconds(500),
    };

    private static Task<string?> NoSecrets(string ns, string name, string key, CancellationToken ct) => Task.FromResult<string?>(null);

    private static Notification Event(int i, params WebhookSpec[] hooks) =>
        new(NotificationType.Failover, "shop", "checkout", T0.AddSeconds(i), $"event {i}", hooks)
        {
            Details = new Dictionary<string, object?> { ["from"] = "checkout-primary", ["to"] = "checkout-standby", ["seq"] = i },
        };

    private static WebhookSpec Hook(string url, SecretKeyReference? secret = null) => new() { Url = url, SecretRef = secret };

    private static async Task WaitFor(Func<bool> condition, string what, int seconds = 8)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"timed out waiting for {what}");
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public void Id_IsDeterministic_FromNamespacePolicyTypeAndTime()
    {
        var hooks = new[] { Hook("http://127.0.0.1:1/") };
        var a = new Notification(NotificationType.Failover, "shop", "checkout", T0.AddMilliseconds(300), "first wording", hooks);
        var b = new Notification(NotificationType.Failover, "shop", "checkout", T0.ToOffset(TimeSpan.FromHours(2)), "other wording", []);
        Assert.Equal(a.Id, b.Id); // same event re-enqueued (e.g. after a restart): same key
        Assert.Matches("^[0-9a-f]{32}$", a.Id);
        Assert.NotEqual(a.Id, new Notification(NotificationType.Failback, "shop", "checkout", T0, "", hooks).Id);
        Assert.NotEqual(a.Id, new Notification(NotificationType.Failover, "shop", "checkout", T0.AddSeconds(1), "", hooks).Id);
        Assert.NotEqual(a.Id, new Notification(NotificationType.Failover, "shop", "cart", T0, "", hooks).Id);
        Assert.NotEqual(a.Id, new Notification(NotificationType.Failover, "shop", "checkout", T0, "", hooks) { Subject = "drill-1" }.Id);
        // A policy deleted and created again under the same name: new uid, new keys.
        Assert.NotEqual(a.Id, new Notification(NotificationType.Failover, "shop", "checkout", T0, "", hooks) { PolicyUid = "uid-2" }.Id);

        using var body = JsonDocument.Parse(a.ToJson());
        var root = body.RootElement;
        Assert.Equal(a.Id, root.GetProperty("id").GetString());
        Assert.Equal("Failover", root.GetProperty("type").GetString());
        Assert.Equal("shop", root.GetProperty("namespace").GetString());
        Assert.Equal("checkout", root.GetProperty("policy").GetString());
        Assert.Equal("first wording", root.GetProperty("message").GetString());
        Assert.Equal("2025-03-01T12:00:00Z", root.GetProperty("time").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("details").ValueKind);
        Assert.Equal("ResiliencePolicy", root.GetProperty("involvedObject").GetProperty("kind").GetString());
        Assert.Equal("checkout", root.GetProperty("involvedObject").GetProperty("name").GetString());
    }

    [Fact]
    public void Body_KeepsNumbersAndBooleansTyped_AndLeavesNullsOut()
    {
        var n = new Notification(NotificationType.DrillPassed, "shop", "checkout", T0, "drill-1: served again", [Hook("http://127.0.0.1:1/")])
        {
            Involved = new InvolvedObject("ResilienceDrill", "drill-1", "d-uid"),
            Details = new Dictionary<string, object?> { ["rtoSeconds"] = 2.5, ["result"] = "Passed", ["rtoMet"] = true, ["count"] = 3, ["missing"] = null },
        };
        using var body = JsonDocument.Parse(n.ToJson());
        var details = body.RootElement.GetProperty("details");
        Assert.Equal(2.5, details.GetProperty("rtoSeconds").GetDouble());
        Assert.Equal(3, details.GetProperty("count").GetInt32());
        Assert.True(details.GetProperty("rtoMet").GetBoolean());
        Assert.Equal("Passed", details.GetProperty("result").GetString());
        Assert.False(details.TryGetProperty("missing", out _));
        var involved = body.RootElement.GetProperty("involvedObject");
        Assert.Equal(("ResilienceDrill", "drill-1", "d-uid"), (involved.GetProperty("kind").GetString(), involved.GetProperty("name").GetString(), involved.GetProperty("uid").GetString()));
    }

    [Fact]
    public async Task EveryEvent_DeliveredOncePerKey_SameKeyAcrossRetries_NoneLostWhileTheServerRecovers()
    {
        // The first 6 requests fail (an outage long enough to open the circuit), and every event's
        // first attempt fails too, so each key is retried at least once.
        await using var server = LoopbackServer.Start(r => Task.FromResult(r.Sequence <= 6 || r.AttemptForKey == 1 ? 503 : 200));
        await using var notifier = new Notifier(NoSecrets, Fast);
        await notifier.StartAsync();
        var events = Enumerable.Range(0, 20).Select(i => Event(i, Hook(server.Url))).ToList();
        foreach (var e in events)
        {
            Assert.True(notifier.TryEnqueue(e));
        }

        await WaitFor(() => notifier.Delivered + notifier.Failed == events.Count, "every event to be settled");

        Assert.Equal(events.Count, notifier.Delivered);
        Assert.Equal(0, notifier.Failed);
        Assert.Equal(0, notifier.DroppedCount);
        var requests = server.Requests.ToList();
        var ok = requests.Where(r => r.Status == 200).ToList();
        Assert.Equal(events.Count, ok.Count);                                   // one successful delivery per event
        Assert.Equal(events.Count, ok.Select(r => r.Key).Distinct().Count());   // ... each under its own key
        Assert.Equal(events.Select(e => e.Id).ToHashSet(), ok.Select(r => r.Key!).ToHashSet());
        Assert.All(requests, r => Assert.Contains(r.Key, events.Select(e => e.Id)));
        foreach (var byKey in requests.GroupBy(r => r.Key))
        {
            Assert.True(byKey.Count() >= 2, $"key {byKey.Key} was not retried");
            Assert.Single(byKey.Select(r => r.Body).Distinct()); // the retried request is the same request
            Assert.Equal(200, byKey.OrderBy(r => r.Sequence).Last().Status);
        }
        foreach (var e in events)
        {
            using var json = JsonDocument.Parse(ok.Single(r => r.Key == e.Id).Body);
            Assert.Equal(e.Id, json.RootElement.GetProperty("id").GetString());
            Assert.Equal("Failover", json.RootElement.GetProperty("type").GetString());
            Assert.Equal("checkout-standby", json.RootElement.GetProperty("details").GetProperty("to").GetString());
        }
        Assert.All(requests, r => Assert.StartsWith("application/json", r.ContentType));
    }

    [Fact]
    public async Task ClientErrors_AreFinal_ButRequestTimeoutAndTooManyRequestsAreRetried()
    {
        var badRequest = Event(1);
        var notFound = Event(2);
        var requestTimeout = Event(3);
        var tooMany = Event(4);
        await using var server = LoopbackServer.Start(r => Task.FromResult(
            r.Key == badRequest.Id ? 400 :
            r.Key == notFound.Id ? 404 :
            r.Key == requestTimeout.Id && r.AttemptForKey == 1 ? 408 :
            r.Key == tooMany.Id && r.AttemptForKey == 1 ? 429 : 200));
        await using var notifier = new Notifier(NoSecrets, Fast with { FailureRatio = 1, MinimumThroughput = 100 });
        await notifier.StartAsync();
        foreach (var e in new[] { badRequest, notFound, requestTimeout, tooMany })
        {
            Assert.True(notifier.TryEnqueue(Event((int)e.Details["seq"]!, Hook(server.Url))));
        }

        await WaitFor(() => notifier.Delivered + notifier.Failed == 4, "all four events to be settled");

        Assert.Equal(2, notifier.Failed);
        Assert.Equal(2, notifier.Delivered);
        var byKey = server.Requests.GroupBy(r => r.Key!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(1, byKey[badRequest.Id]);
        Assert.Equal(1, byKey[notFound.Id]);
        Assert.Equal(2, byKey[requestTimeout.Id]);
        Assert.Equal(2, byKey[tooMany.Id]);
    }

    [Fact]
    public async Task BearerToken_IsSent_AndAMissingSecretKeyIsRetriedThenGivenUpWithoutCallingTheEndpoint()
    {
        var asked = new ConcurrentQueue<(string Ns, string Name, string Key)>();
        Task<string?> Resolve(string ns, string name, string key, CancellationToken ct)
        {
            asked.Enqueue((ns, name, key));
            return name == "gone"
                ? Task.FromException<string?>(new InvalidOperationException("not found"))
                : Task.FromResult(name == "hook-token" && key == "token" ? "s3cret" : null);
        }
        var gaveUp = new ConcurrentQueue<(string Id, int Index, string Error)>();
        await using var server = LoopbackServer.Start(_ => Task.FromResult(200));
        using var http = new HttpClient();
        var options = Fast with { MaxAttempts = 3 };
        await using var notifier = new Notifier(Resolve, options, http, onGaveUp: (n, i, e) => gaveUp.Enqueue((n.Id, i, e)));
        await notifier.StartAsync();

        var e = Event(1,
            Hook(server.Url + "with-token", new SecretKeyReference { Name = "hook-token", Key = "token" }),
            Hook(server.Url + "missing-key", new SecretKeyReference { Name = "hook-token", Key = "nope" }),
            Hook(server.Url + "no-secret"),
            Hook(server.Url + "missing-secret", new SecretKeyReference { Name = "gone", Key = "token" }));
        Assert.True(notifier.TryEnqueue(e));

        await WaitFor(() => notifier.Delivered + notifier.Failed == 4, "four settled deliveries");

        Assert.Equal(2, notifier.Delivered);
        Assert.Equal(2, notifier.Failed);
        var byPath = server.Requests.ToDictionary(r => r.Path);
        Assert.Equal("Bearer s3cret", byPath["/with-token"].Authorization);
        Assert.Null(byPath["/no-secret"].Authorization);
        // Never called without the token it asked for.
        Assert.False(byPath.ContainsKey("/missing-key"));
        Assert.False(byPath.ContainsKey("/missing-secret"));
        // The Secret is read again on every attempt, so one created meanwhile is used.
        Assert.Equal(options.MaxAttempts, asked.Count(a => a.Key == "nope"));
        Assert.Equal(options.MaxAttempts, asked.Count(a => a.Name == "gone"));
        Assert.Equal(2, gaveUp.Count);
        var missingKey = Assert.Single(gaveUp, g => g.Index == 1);
        Assert.Equal(e.Id, missingKey.Id);
        Assert.StartsWith("secretRef: ", missingKey.Error);
        Assert.Contains("has no key \"nope\"", missingKey.Error);
        var missingSecret = Assert.Single(gaveUp, g => g.Index == 3);
        Assert.Contains("Secret shop/gone", missingSecret.Error);
        Assert.Contains("not found", missingSecret.Error);
    }

    [Fact]
    public async Task FinalAnswer_IsReportedWithTheWebhookIndex()
    {
        await using var server = LoopbackServer.Start(_ => Task.FromResult(400));
        var gaveUp = new ConcurrentQueue<(int Index, string Error)>();
        await using var notifier = new Notifier(NoSecrets, Fast, onGaveUp: (_, i, e) => gaveUp.Enqueue((i, e)));
        await notifier.StartAsync();
        Assert.True(notifier.TryEnqueue(Event(1, Hook("ftp://example.invalid/"), Hook(server.Url))));

        await WaitFor(() => gaveUp.Count == 2, "both webhooks given up");

        Assert.Contains(gaveUp, g => g.Index == 0 && g.Error.StartsWith("url: ", StringComparison.Ordinal) && g.Error.Contains("not an http(s) URL"));
        Assert.Contains(gaveUp, g => g.Index == 1 && g.Error.Contains("answered HTTP 400"));
        Assert.Single(server.Requests); // 400 is final: not retried
    }

    [Fact]
    public async Task TryEnqueue_NeverBlocks_AndDropsTheOldest_WhenTheQueueIsFull()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = LoopbackServer.Start(async _ => { await release.Task; return 200; });
        await using var notifier = new Notifier(NoSecrets, Fast with { QueueCapacity = 2 });
        await notifier.StartAsync();
        var dropped = Metrics.CreateCounter("resilience_notifications_total", "", "result").WithLabels("dropped");
        var droppedBefore = dropped.Value;
        var events = Enumerable.Range(0, 50).Select(i => Event(i, Hook(server.Url))).ToList();

        Assert.True(notifier.TryEnqueue(events[0]));
        await WaitFor(() => server.Requests.Count + server.InFlight == 1, "the first event to be in flight");
        var sw = Stopwatch.StartNew();
        foreach (var e in events.Skip(1))
        {
            Assert.True(notifier.TryEnqueue(e)); // the server is stalled; this must still return at once
        }
        sw.Stop();

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"enqueueing took {sw.Elapsed}");
        Assert.Equal(47, notifier.DroppedCount); // 1 in flight, the newest 2 queued, the rest dropped
        Assert.True(dropped.Value - droppedBefore >= 47);
        Assert.Equal(2, notifier.Pending);

        release.SetResult();
        await WaitFor(() => notifier.Delivered == 3, "the kept events to be delivered");
        Assert.Equal(
            new[] { events[0].Id, events[48].Id, events[49].Id }.ToHashSet(),
            server.Requests.Select(r => r.Key!).ToHashSet());
    }

    [Fact]
    public async Task Circuit_OpensOnADeadEndpoint_WithoutStallingAHealthyOne()
    {
        await using var dead = LoopbackServer.Start(_ => Task.FromResult(503));
        await using var healthy = LoopbackServer.Start(_ => Task.FromResult(200));
        var options = Fast with { MaxAttempts = 5, FailureRatio = 0.5, MinimumThroughput = 3, BreakDuration = TimeSpan.FromSeconds(30) };
        await using var notifier = new Notifier(NoSecrets, options);
        await notifier.StartAsync();
        var events = Enumerable.Range(0, 20).Select(i => Event(i, Hook(dead.Url), Hook(healthy.Url))).ToList();
        foreach (var e in events)
        {
            Assert.True(notifier.TryEnqueue(e));
        }

        await WaitFor(() => notifier.Delivered == events.Count, "every event to reach the healthy webhook");
        await WaitFor(() => notifier.CircuitStateOf(dead.Url) == CircuitState.Open, "the dead webhook's circuit to open");

        Assert.Equal(events.Select(e => e.Id).ToHashSet(), healthy.Requests.Select(r => r.Key!).ToHashSet());
        Assert.Equal(events.Count, healthy.Requests.Count);
        Assert.Equal(CircuitState.Closed, notifier.CircuitStateOf(healthy.Url));
        // The open circuit keeps the dead endpoint from being hammered: 3 failures opened it.
        Assert.Equal(options.MinimumThroughput, dead.Requests.Count);
        Assert.Equal(0, notifier.Failed); // events for the dead endpoint wait for the circuit instead of failing
    }

    [Fact]
    public async Task ConnectionErrors_AreRetried_UntilTheServerListens()
    {
        var port = LoopbackServer.FreePort();
        var url = $"http://127.0.0.1:{port}/";
        await using var notifier = new Notifier(NoSecrets, Fast with { MaxAttempts = 50, MaxDelay = TimeSpan.FromMilliseconds(50) });
        await notifier.StartAsync();
        var e = Event(1, Hook(url));
        Assert.True(notifier.TryEnqueue(e));

        await Task.Delay(300); // connections are refused meanwhile
        Assert.Equal(0, notifier.Delivered + notifier.Failed);
        await using var server = LoopbackServer.Start(_ => Task.FromResult(200), port);

        await WaitFor(() => notifier.Delivered == 1, "the event once the server listens");
        Assert.Equal(e.Id, Assert.Single(server.Requests).Key);
    }

    [Fact]
    public async Task EventsQueuedBeforeStart_AreDrainedByStop()
    {
        await using var server = LoopbackServer.Start(_ => Task.FromResult(200));
        await using var notifier = new Notifier(NoSecrets, Fast);
        var events = Enumerable.Range(0, 5).Select(i => Event(i, Hook(server.Url))).ToList();
        Assert.All(events, e => Assert.True(notifier.TryEnqueue(e)));
        Assert.False(notifier.TryEnqueue(Event(9))); // no webhook

        await notifier.StartAsync();
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await notifier.StopAsync(grace.Token);

        Assert.Equal(5, notifier.Delivered);
        Assert.Equal(5, server.Requests.Count);
        Assert.False(notifier.TryEnqueue(Event(10, Hook(server.Url)))); // stopped
    }
}

public sealed class NotifierShutdownTests
{
    [Fact]
    public async Task StopAsync_IsBoundedByItsToken_AndCountsWhatIsLeftAsDropped()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = LoopbackServer.Start(async _ => { await release.Task; return 200; });
        await using var notifier = new Notifier((_, _, _, _) => Task.FromResult<string?>(null), new NotifierOptions { AttemptTimeout = TimeSpan.FromMinutes(5) });
        await notifier.StartAsync();
        var hook = new WebhookSpec { Url = server.Url };
        for (var i = 0; i < 5; i++)
        {
            Assert.True(notifier.TryEnqueue(new Notification(NotificationType.Failover, "shop", "checkout", DateTimeOffset.UnixEpoch.AddSeconds(i), "", [hook])));
        }
        var sw = Stopwatch.StartNew();
        while (server.InFlight == 0 && sw.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.Equal(1, server.InFlight);

        sw.Restart();
        using var grace = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await notifier.StopAsync(grace.Token).WaitAsync(TimeSpan.FromSeconds(20));
        sw.Stop();

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"stop took {sw.Elapsed}");
        Assert.Equal(5, notifier.DroppedCount); // the one in flight and the four queued
        Assert.Equal(0, notifier.Delivered);
        Assert.Equal(0, notifier.Pending);
        release.SetResult();
    }
}

/// <summary>A real HTTP server on 127.0.0.1 that answers with the status the test chooses.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    internal sealed record Received(int Sequence, int AttemptForKey, string Path, string? Key, string? Authorization, string? ContentType, string Body, int Status);

    internal sealed record Incoming(int Sequence, int AttemptForKey, string? Key);

    private readonly HttpListener _listener;
    private readonly Func<Incoming, Task<int>> _respond;
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private readonly ConcurrentQueue<Received> _requests = new();
    private readonly Task _loop;
    private int _sequence;
    private int _inFlight;

    private LoopbackServer(HttpListener listener, string url, Func<Incoming, Task<int>> respond)
    {
        _listener = listener;
        Url = url;
        _respond = respond;
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    /// <summary>Requests answered so far.</summary>
    public IReadOnlyCollection<Received> Requests => _requests;

    public int InFlight => Volatile.Read(ref _inFlight);

    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public static LoopbackServer Start(Func<Incoming, Task<int>> respond, int? port = null)
    {
        for (var tries = 0; ; tries++)
        {
            var url = $"http://127.0.0.1:{port ?? FreePort()}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            try
            {
                listener.Start();
                return new LoopbackServer(listener, url, respond);
            }
            catch (HttpListenerException) when (tries < 20 && port is null)
            {
                listener.Close();
            }
        }
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
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            var request = context.Request;
            using var reader = new StreamReader(request.InputStream);
            var body = await reader.ReadToEndAsync();
            var key = request.Headers["Idempotency-Key"];
            var attempt = _attempts.AddOrUpdate(key ?? "", 1, (_, n) => n + 1);
            var sequence = Interlocked.Increment(ref _sequence);
            var status = await _respond(new Incoming(sequence, attempt, key));
            _requests.Enqueue(new Received(sequence, attempt, request.Url!.AbsolutePath, key, request.Headers["Authorization"], request.ContentType, body, status));
            context.Response.StatusCode = status;
            context.Response.ContentLength64 = 0;
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close alone: after Stop, Close looks the endpoint up again and binds the port anew,
        // which fails when another process took it meanwhile.
        _listener.Close();
        await _loop;
    }
}
