using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Notifications;

/// <summary>
/// Delivers <see cref="Notification"/>s to webhooks without ever holding up the caller.
/// <para>
/// Every webhook URL has its own lane: a bounded queue (<see cref="NotifierOptions.QueueCapacity"/>,
/// the oldest event is dropped when full), one delivery loop, and a Polly pipeline of retry
/// (exponential backoff with jitter on 5xx, 408, 429, timeouts and connection errors; other 4xx are
/// final) around a circuit breaker around a per-attempt timeout. A dead endpoint therefore only
/// slows its own lane. While a circuit is open the event waits for it instead of spending its
/// attempts, so nothing is lost while an endpoint recovers unless the queue overflows.
/// </para>
/// <para>
/// Each POST carries <c>Idempotency-Key: &lt;event id&gt;</c>, the same on every retry and on a
/// re-enqueue of the same event, and <c>Authorization: Bearer &lt;token&gt;</c> when the webhook
/// names a Secret. A webhook whose Secret or key cannot be read is never called without its token:
/// the read is retried like a failed attempt, and the event is given up once the attempts are spent.
/// </para>
/// <para>
/// Every event given up is reported to the <c>onGaveUp</c> callback with the index of its webhook
/// and what went wrong, so the owner can tell the policy's users (a Warning event).
/// </para>
/// </summary>
internal sealed class Notifier : IAsyncDisposable
{
    private static readonly Counter Results = Metrics.CreateCounter("resilience_notifications_total",
        "Webhook notifications by result, one per event and webhook: delivered (2xx), " +
            "failed (given up after its attempts or on a final answer), " +
            "dropped (queue full, or still queued at shutdown).", "result");
    private static readonly ResiliencePropertyKey<DeliveryState> StateKey = new("resilience.notification");

    private readonly Func<string, string, string, CancellationToken, Task<string?>> _resolveSecret;
    private readonly Action<Notification, int, string>? _onGaveUp;
    private readonly NotifierOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _abort = new();
    private bool _started;
    private bool _stopped;
    private bool _disposed;
    private long _delivered;
    private long _failed;
    private long _dropped;

    /// <param name="resolveSecret">Returns the token stored under (namespace, secret name, key), or null when there is none.</param>
    /// <param name="options">Queue, retry and circuit-breaker settings; defaults when null.</param>
    /// <param name="httpClient">Shared client; when null the notifier owns one (no redirects followed).</param>
    /// <param name="timeProvider">Clock for backoff, timeouts and the circuit breaker.</param>
    /// <param name="logger">Where delivery problems are logged.</param>
    /// <param name="onGaveUp">Called with the event, the index of the webhook in its list and the error, for every delivery given up.</param>
    public Notifier(Func<string, string, string, CancellationToken, Task<string?>> resolveSecret, NotifierOptions? options = null,
        HttpClient? httpClient = null, TimeProvider? timeProvider = null, ILogger? logger = null, Action<Notification, int, string>? onGaveUp = null)
    {
        ArgumentNullException.ThrowIfNull(resolveSecret);
        _resolveSecret = resolveSecret;
        _onGaveUp = onGaveUp;
        _options = options ?? new NotifierOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.QueueCapacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxAttempts, 1, nameof(options));
        _time = timeProvider ?? TimeProvider.System;
        _log = logger ?? NullLogger.Instance;
        _ = BuildPipeline("validation", new CircuitBreakerStateProvider()); // invalid options fail here, not on first use
        if (httpClient is null)
        {
            _http = new HttpClient(new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            })
            { Timeout = Timeout.InfiniteTimeSpan };
            _ownsHttp = true;
        }
        else
        {
            _http = httpClient;
        }
    }

    /// <summary>Deliveries that got a 2xx answer.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Deliveries given up (non-retryable answer, attempts used up, or an invalid URL).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Deliveries dropped because their queue was full, or still queued when the notifier stopped.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Deliveries waiting in the queues (not counting those in flight).</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _lanes.Values.Sum(l => l.Queue.Reader.Count);
            }
        }
    }

    /// <summary>The circuit of a webhook URL, or null when nothing was sent there yet.</summary>
    public CircuitState? CircuitStateOf(string url)
    {
        lock (_lock)
        {
            return _lanes.TryGetValue(url, out var lane) ? lane.Circuit.CircuitState : null;
        }
    }

    /// <summary>
    /// Queues the event for each of its webhooks and returns at once; never blocks and never
    /// throws for a full queue (the oldest event of that webhook is dropped and counted instead).
    /// Events queued before <see cref="StartAsync"/> are sent once it runs. Returns false when the
    /// event has no usable webhook or the notifier is stopped.
    /// </summary>
    public bool TryEnqueue(Notification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var queued = false;
        List<WebhookSpec>? invalid = null;
        lock (_lock)
        {
            if (_stopped)
            {
                return false;
            }
            foreach (var webhook in notification.Webhooks.Where(w => w is not null).DistinctBy(w => w.Url, StringComparer.Ordinal))
            {
                if (!IsHttpUrl(webhook.Url))
                {
                    _log.LogWarning("Notification {Id} for {Namespace}/{Policy}: webhook URL {Url} is not an http(s) URL", notification.Id,
                        notification.Namespace, notification.Policy, webhook.Url);
                    CountResult(delivered: false);
                    (invalid ??= []).Add(webhook);
                    continue;
                }
                if (!_lanes.TryGetValue(webhook.Url, out var lane))
                {
                    lane = CreateLane(webhook.Url);
                    _lanes.Add(webhook.Url, lane);
                    if (_started)
                    {
                        lane.Worker = Task.Run(() => RunLaneAsync(lane, _abort.Token), CancellationToken.None);
                    }
                }
                queued |= lane.Queue.Writer.TryWrite(new Delivery(notification, webhook));
            }
        }
        foreach (var webhook in invalid ?? [])
        {
            GaveUp(notification, webhook, $"url: \"{webhook.Url}\" is not an http(s) URL");
        }
        return queued;
    }

    /// <summary>Starts the delivery loops.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            if (!_started)
            {
                _started = true;
                foreach (var lane in _lanes.Values)
                {
                    lane.Worker = Task.Run(() => RunLaneAsync(lane, _abort.Token), CancellationToken.None);
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting events and delivers what is queued until <paramref name="cancellationToken"/>
    /// fires; then abandons the rest and cancels deliveries in flight.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            return;
        }
        Task[] workers;
        lock (_lock)
        {
            _stopped = true;
            foreach (var lane in _lanes.Values)
            {
                lane.Queue.Writer.TryComplete();
            }
            workers = _started ? [.. _lanes.Values.Select(l => l.Worker)] : [];
        }
        var all = Task.WhenAll(workers);
        try
        {
            await all.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync();
            await all;
        }
        var abandoned = 0;
        lock (_lock)
        {
            foreach (var lane in _lanes.Values)
            {
                while (lane.Queue.Reader.TryRead(out var left))
                {
                    abandoned++;
                    _log.LogWarning("Notifier stopped: notification {Id} ({Type} of {Namespace}/{Policy}) to {Url} not delivered", left.Notification.Id,
                        left.Notification.Type, left.Notification.Namespace, left.Notification.Policy, lane.Url);
                }
            }
        }
        if (abandoned > 0)
        {
            Interlocked.Add(ref _dropped, abandoned);
            Results.WithLabels("dropped").Inc(abandoned);
            _log.LogWarning("Notifier stopped with {Count} undelivered webhook notifications", abandoned);
        }
    }

    /// <summary>Stops at once, without waiting for queued events.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        await StopAsync(new CancellationToken(canceled: true));
        _disposed = true;
        if (_ownsHttp)
        {
            _http.Dispose();
        }
        _abort.Dispose();
    }

    private static bool IsHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private void CountResult(bool delivered)
    {
        if (delivered)
        {
            Interlocked.Increment(ref _delivered);
            Results.WithLabels("delivered").Inc();
        }
        else
        {
            Interlocked.Increment(ref _failed);
            Results.WithLabels("failed").Inc();
        }
    }

    private Lane CreateLane(string url)
    {
        var circuit = new CircuitBreakerStateProvider();
        var queue = Channel.CreateBounded<Delivery>(
            new BoundedChannelOptions(_options.QueueCapacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            },
            dropped =>
            {
                Interlocked.Increment(ref _dropped);
                Results.WithLabels("dropped").Inc();
                _log.LogWarning("Webhook queue for {Url} is full; dropped notification {Id} ({Type} of {Namespace}/{Policy})", url,
                    dropped.Notification.Id, dropped.Notification.Type, dropped.Notification.Namespace, dropped.Notification.Policy);
            });
        return new Lane(url, queue, BuildPipeline(url, circuit), circuit);
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(string url, CircuitBreakerStateProvider circuit)
    {
        var o = _options;
        return new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                // The attempt budget is enforced in ShouldRetry so that waiting on an open circuit is free.
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.BaseDelay,
                MaxDelay = o.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(RetryDelay(args.Outcome)),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = o.FailureRatio,
                MinimumThroughput = o.MinimumThroughput,
                SamplingDuration = o.SamplingDuration,
                BreakDuration = o.BreakDuration,
                StateProvider = circuit,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome, args.Context)),
                OnOpened = args =>
                {
                    _log.LogWarning("Webhook {Url} keeps failing; circuit open for {Duration}", url, args.BreakDuration);
                    return default;
                },
                OnClosed = _ =>
                {
                    _log.LogInformation("Webhook {Url} answers again; circuit closed", url);
                    return default;
                },
            })
            .AddTimeout(o.AttemptTimeout)
            .Build();
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
        if (outcome.Exception is BrokenCircuitException)
        {
            return true; // not sent: wait for the circuit instead of spending an attempt
        }
        var state = context.Properties.GetValue(StateKey, null!);
        if (state.Attempts >= _options.MaxAttempts)
        {
            return false;
        }
        return outcome.Exception is SecretResolutionException || IsTransient(outcome, context);
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome, ResilienceContext context) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Exception: OperationCanceledException } => !context.CancellationToken.IsCancellationRequested,
        { Exception: not null } => false,
        { Result: { } r } => (int)r.StatusCode >= 500 || r.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
        _ => false,
    };

    private TimeSpan? RetryDelay(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is BrokenCircuitException broken)
        {
            return broken.RetryAfter is { } after && after > TimeSpan.Zero ? after : _options.BreakDuration;
        }
        if (outcome.Result?.Headers.RetryAfter is { } retryAfter)
        {
            var delay = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - _time.GetUtcNow() : null);
            if (delay is { } d && d > TimeSpan.Zero)
            {
                return d < _options.MaxDelay ? d : _options.MaxDelay;
            }
        }
        return null; // exponential backoff with jitter
    }

    private async Task RunLaneAsync(Lane lane, CancellationToken ct)
    {
        var reader = lane.Queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var delivery))
                {
                    await DeliverAsync(lane, delivery, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.LogError(e, "Webhook delivery loop for {Url} stopped", lane.Url);
        }
    }

    private async Task DeliverAsync(Lane lane, Delivery delivery, CancellationToken ct)
    {
        var n = delivery.Notification;
        var state = new DeliveryState(this, delivery, n.ToJson());
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(StateKey, state);
        try
        {
            using var response = await lane.Pipeline.ExecuteAsync(static (ctx, s) => s.Owner.SendOnceAsync(ctx, s), context, state);
            if (response.IsSuccessStatusCode)
            {
                CountResult(delivered: true);
                _log.LogDebug("Notification {Id} ({Type} of {Namespace}/{Policy}) delivered to {Url} after {Attempts} attempt(s)",
                    n.Id, n.Type, n.Namespace, n.Policy, lane.Url, state.Attempts);
            }
            else
            {
                CountResult(delivered: false);
                _log.LogWarning("Notification {Id} ({Type} of {Namespace}/{Policy}) to {Url} failed with HTTP {Status} after {Attempts} attempt(s)",
                    n.Id, n.Type, n.Namespace, n.Policy, lane.Url, (int)response.StatusCode, state.Attempts);
                GaveUp(n, delivery.Webhook, $"url: POST {lane.Url} answered HTTP {(int)response.StatusCode} after {state.Attempts} attempt(s)");
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down after the drain time: this one is lost like the ones still queued.
            Interlocked.Increment(ref _dropped);
            Results.WithLabels("dropped").Inc();
            _log.LogWarning("Notifier stopped: notification {Id} ({Type} of {Namespace}/{Policy}) to {Url} not delivered after {Attempts} attempt(s)",
                n.Id, n.Type, n.Namespace, n.Policy, lane.Url, state.Attempts);
            throw;
        }
        catch (Exception e)
        {
            CountResult(delivered: false);
            _log.LogWarning("Notification {Id} ({Type} of {Namespace}/{Policy}) to {Url} failed after {Attempts} attempt(s): {Error}",
                n.Id, n.Type, n.Namespace, n.Policy, lane.Url, state.Attempts, e.Message);
            GaveUp(n, delivery.Webhook, e is SecretResolutionException
                ? $"secretRef: {e.Message}; not sent after {state.Attempts} attempt(s)"
                : $"url: POST {lane.Url} failed after {state.Attempts} attempt(s): {e.Message}");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<HttpResponseMessage> SendOnceAsync(ResilienceContext context, DeliveryState state)
    {
        state.Attempts++;
        var n = state.Delivery.Notification;
        var webhook = state.Delivery.Webhook;
        string? token = null;
        if (webhook.SecretRef is { } secret)
        {
            try
            {
                token = await _resolveSecret(n.Namespace, secret.Name, secret.Key, context.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new SecretResolutionException($"reading Secret {n.Namespace}/{secret.Name} key {secret.Key}: {e.Message}", e);
            }
            if (string.IsNullOrEmpty(token))
            {
                // Never call the endpoint without the token it asked for: retried, then given up.
                throw new SecretResolutionException($"Secret {n.Namespace}/{secret.Name} has no key \"{secret.Key}\" (or it is empty)", null);
            }
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url);
        request.Content = new ByteArrayContent(state.Body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", n.Id);
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.CancellationToken);
    }

    private sealed record Delivery(Notification Notification, WebhookSpec Webhook);

    private sealed class DeliveryState(Notifier owner, Delivery delivery, byte[] body)
    {
        public Notifier Owner { get; } = owner;
        public Delivery Delivery { get; } = delivery;
        public byte[] Body { get; } = body;
        public int Attempts { get; set; }
    }

    private sealed class Lane(string url, Channel<Delivery> queue, ResiliencePipeline<HttpResponseMessage> pipeline, CircuitBreakerStateProvider circuit)
    {
        public string Url { get; } = url;
        public Channel<Delivery> Queue { get; } = queue;
        public ResiliencePipeline<HttpResponseMessage> Pipeline { get; } = pipeline;
        public CircuitBreakerStateProvider Circuit { get; } = circuit;
        public Task Worker { get; set; } = Task.CompletedTask;
    }

    private void GaveUp(Notification notification, WebhookSpec webhook, string error)
    {
        if (_onGaveUp is null)
        {
            return;
        }
        var index = -1;
        for (var i = 0; i < notification.Webhooks.Count; i++)
        {
            if (ReferenceEquals(notification.Webhooks[i], webhook) || notification.Webhooks[i]?.Url == webhook.Url)
            {
                index = i;
                break;
            }
        }
        try
        {
            _onGaveUp(notification, index, error);
        }
        catch (Exception e)
        {
            _log.LogWarning("Reporting the failed notification {Id} failed: {Error}", notification.Id, e.Message);
        }
    }

    private sealed class SecretResolutionException(string message, Exception? inner) : Exception(message, inner);
}
