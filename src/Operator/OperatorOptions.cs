namespace ResilienceOperator;

/// <summary>How the operator runs; set from the command line and the environment (<see cref="OperatorCommandLine"/>).</summary>
internal sealed class OperatorOptions
{
    /// <summary>Kubeconfig file; null means in-cluster config, or ~/.kube/config outside a cluster.</summary>
    public string? Kubeconfig { get; set; }
    /// <summary>Namespaces to watch; empty means all.</summary>
    public List<string> Namespaces { get; set; } = [];
    public bool LeaderElect { get; set; }
    public string LeaseNamespace { get; set; } = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "default";
    public string LeaseName { get; set; } = "resilience-operator-leader";
    /// <summary>
    /// Only the ResiliencePolicies with these labels are this replica's (a shard, docs/sharding.md): the
    /// selector goes to the API server with the policies' LIST and WATCH; empty (the default) means every policy.
    /// </summary>
    public Runtime.LabelSelector ShardSelector { get; set; } = Runtime.LabelSelector.Everything;
    public string Identity { get; set; } = Environment.MachineName + "-" + Guid.NewGuid().ToString("N")[..8];
    /// <summary>How long a lease lasts without renewal before another replica may take it (client-go's LeaseDuration).</summary>
    public TimeSpan LeaseDuration { get; set; } = Runtime.LeaderElectionTimings.Default.LeaseDuration;
    /// <summary>A leader that has not renewed for this long stops writing and steps down; below <see cref="LeaseDuration"/> as a safety margin.</summary>
    public TimeSpan RenewDeadline { get; set; } = Runtime.LeaderElectionTimings.Default.RenewDeadline;
    /// <summary>Interval between acquire (jittered) and renew attempts.</summary>
    public TimeSpan RetryPeriod { get; set; } = Runtime.LeaderElectionTimings.Default.RetryPeriod;
    public int Workers { get; set; } = 4;
    /// <summary>Port for /healthz, /readyz and /metrics; 0 disables the endpoint.</summary>
    public int Port { get; set; } = 8080;
    public string BindAddress { get; set; } = "0.0.0.0";
    /// <summary>text or json.</summary>
    public string LogFormat { get; set; } = "text";
    public string LogLevel { get; set; } = "Information";
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>Webhook queue, retry and circuit-breaker settings; null means the defaults of <see cref="Notifications.NotifierOptions"/>.</summary>
    public Notifications.NotifierOptions? Notifications { get; set; }
    /// <summary>How long queued webhook notifications may still be delivered on shutdown.</summary>
    public TimeSpan NotificationDrain { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>
    /// Share of all checked targets that, turning failing at once, makes the operator suspect its
    /// own view and hold failovers (see Health/ObserverGuard.cs); 1 disables the guard.
    /// </summary>
    public double ObserverSuspectThreshold { get; set; } = Planning.ObserverGuard.DefaultThreshold;
    /// <summary>How many targets at least must turn failing at once for the guard to hold failovers.</summary>
    public int ObserverSuspectMinTargets { get; set; } = Planning.ObserverGuard.DefaultMinTargets;
    /// <summary>How long queued Kubernetes Events may still be written when a leadership term ends or the operator stops.</summary>
    public TimeSpan EventDrain { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>While leading, /readyz fails when a work queue's oldest item has waited this long and no item was done meanwhile.</summary>
    public TimeSpan ReadinessStallTimeout { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>HTTPS port of the validating admission webhook; 0 disables it.</summary>
    public int WebhookPort { get; set; }
    /// <summary>Secret (in <see cref="LeaseNamespace"/>) the operator keeps the webhook's CA and serving certificate in.</summary>
    public string WebhookSecret { get; set; } = "resilience-operator-webhook-tls";
    /// <summary>ValidatingWebhookConfigurations whose caBundle the operator sets.</summary>
    public List<string> WebhookConfigurations { get; set; } = ["resilience-operator"];
    /// <summary>Service in front of the webhook: its DNS names go into the serving certificate.</summary>
    public string WebhookService { get; set; } = "resilience-operator-webhook";
    /// <summary>Directory with tls.crt and tls.key (cert-manager); set, the operator neither makes certificates nor sets caBundle.</summary>
    public string? WebhookCertDir { get; set; }

    public Runtime.LeaderElectionTimings LeaderElectionTimings => new(LeaseDuration, RenewDeadline, RetryPeriod);

    /// <summary>
    /// The options from a command line and an environment (see <see cref="OperatorCommandLine"/>;
    /// a null environment reads none); anything but a run of the operator — bad values, help,
    /// a subcommand — is an <see cref="ArgumentException"/> whose message names the option.
    /// </summary>
    public static OperatorOptions Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null) =>
        OperatorCommandLine.Parse(args, environment) switch
        {
            CommandLineRequest.Run run => run.Options,
            CommandLineRequest.Invalid invalid => throw new ArgumentException(string.Join(Environment.NewLine, invalid.Errors)),
            var other => throw new ArgumentException($"not a run of the operator: {other.GetType().Name}"),
        };

    /// <summary>The usage text, generated from the command line's options.</summary>
    public static string Usage => OperatorCommandLine.Usage;
}
