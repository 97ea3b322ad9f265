namespace ResilienceOperator;

/// <summary>How the operator runs; set from the command line.</summary>
internal sealed class OperatorOptions
{
    /// <summary>Kubeconfig file; null means in-cluster config, or ~/.kube/config outside a cluster.</summary>
    public string? Kubeconfig { get; set; }
    /// <summary>Namespaces to watch; empty means all.</summary>
    public List<string> Namespaces { get; set; } = [];
    public bool LeaderElect { get; set; }
    public string LeaseNamespace { get; set; } = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "default";
    public string LeaseName { get; set; } = "resilience-operator-leader";
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
    public double ObserverSuspectThreshold { get; set; } = Health.ObserverGuard.DefaultThreshold;
    /// <summary>How many targets at least must turn failing at once for the guard to hold failovers.</summary>
    public int ObserverSuspectMinTargets { get; set; } = Health.ObserverGuard.DefaultMinTargets;
    /// <summary>How long queued Kubernetes Events may still be written when a leadership term ends or the operator stops.</summary>
    public TimeSpan EventDrain { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>HTTPS port of the validating admission webhook; 0 disables it.</summary>
    public int WebhookPort { get; set; } = 9443;
    /// <summary>Secret (in <see cref="LeaseNamespace"/>) the operator keeps the webhook's CA and serving certificate in.</summary>
    public string WebhookSecret { get; set; } = "resilience-operator-webhook-tls";
    /// <summary>ValidatingWebhookConfigurations whose caBundle the operator sets.</summary>
    public List<string> WebhookConfigurations { get; set; } = ["resilience-operator"];
    /// <summary>Service in front of the webhook: its DNS names go into the serving certificate.</summary>
    public string WebhookService { get; set; } = "resilience-operator-webhook";
    /// <summary>Directory with tls.crt and tls.key (cert-manager); set, the operator neither makes certificates nor sets caBundle.</summary>
    public string? WebhookCertDir { get; set; }

    public Runtime.LeaderElectionTimings LeaderElectionTimings => new(LeaseDuration, RenewDeadline, RetryPeriod);

    public static OperatorOptions Parse(IReadOnlyList<string> args)
    {
        var o = new OperatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--kubeconfig": o.Kubeconfig = Value(); break;
                case "--namespaces": o.Namespaces = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--leader-elect": o.LeaderElect = true; break;
                case "--leader-elect=false": o.LeaderElect = false; break;
                case "--lease-namespace": o.LeaseNamespace = Value(); break;
                case "--lease-name": o.LeaseName = Value(); break;
                case "--lease-duration": o.LeaseDuration = Duration(args[i], Value()); break;
                case "--renew-deadline": o.RenewDeadline = Duration(args[i], Value()); break;
                case "--retry-period": o.RetryPeriod = Duration(args[i], Value()); break;
                case "--workers": o.Workers = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--port": o.Port = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--bind-address": o.BindAddress = Value(); break;
                case "--log-format": o.LogFormat = Value() is "json" or "text" ? args[i] : throw new ArgumentException("--log-format is text or json"); break;
                case "--log-level": o.LogLevel = Value(); break;
                case "--observer-suspect-threshold":
                    o.ObserverSuspectThreshold = double.Parse(Value(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) is var t and >= 0 and <= 1
                        ? t : throw new ArgumentException("--observer-suspect-threshold is a share from 0 to 1");
                    break;
                case "--observer-suspect-min-targets":
                    o.ObserverSuspectMinTargets = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) is var m and >= 1
                        ? m : throw new ArgumentException("--observer-suspect-min-targets is at least 1");
                    break;
                case "--webhook-port":
                    o.WebhookPort = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) is var wp and >= 0 and <= 65535
                        ? wp : throw new ArgumentException("--webhook-port is a port from 1 to 65535, or 0 for no webhook");
                    break;
                case "--webhook-secret": o.WebhookSecret = Value(); break;
                case "--webhook-configuration": o.WebhookConfigurations = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--webhook-service": o.WebhookService = Value(); break;
                case "--webhook-cert-dir": o.WebhookCertDir = Value(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (o.WebhookPort > 0 && o.WebhookPort == o.Port) throw new ArgumentException("--webhook-port must differ from --port");
        if (o.LeaderElect) o.LeaderElectionTimings.Validate();
        return o;
    }

    private static TimeSpan Duration(string option, string value) =>
        Policy.GoDuration.TryParse(value, out var d) && d > TimeSpan.Zero ? d : throw new ArgumentException($"{option} takes a duration such as 15s");

    public const string Usage = """
        usage: ResilienceOperator [options]
               ResilienceOperator generate crds [--output DIR]
          --kubeconfig PATH        kubeconfig file (default: in-cluster, else ~/.kube/config)
          --namespaces a,b         watch only these namespaces (default: all)
          --leader-elect           take part in leader election (Lease in --lease-namespace)
          --lease-namespace NS     namespace of the leader-election Lease (default: $POD_NAMESPACE or default)
          --lease-name NAME        name of the Lease (default: resilience-operator-leader)
          --lease-duration D       leader election: lease duration (default: 15s)
          --renew-deadline D       leader election: a leader that cannot renew within D stops writing and steps down (default: 10s)
          --retry-period D         leader election: interval between acquire and renew attempts (default: 2s)
          --workers N              reconcile workers (default: 4)
          --port N                 port for /healthz, /readyz, /metrics (default: 8080; 0 = off)
          --bind-address ADDR      address for that port (default: 0.0.0.0)
          --log-format text|json   console log format (default: text)
          --log-level LEVEL        Trace, Debug, Information, Warning, Error (default: Information)
          --observer-suspect-threshold X
                                   hold failovers while more than this share (0..1) of all checked
                                   targets turned failing at once: the operator suspects its own view
                                   (default: 0.55; 1 = off)
          --observer-suspect-min-targets N
                                   ... and at least this many targets turned failing (default: 3)
          --webhook-port N         HTTPS port of the validating admission webhook (default: 9443; 0 = off)
          --webhook-secret NAME    Secret in the operator's namespace holding the webhook's CA and certificate,
                                   made and renewed by the operator (default: resilience-operator-webhook-tls)
          --webhook-configuration a,b
                                   ValidatingWebhookConfigurations whose caBundle the operator sets
                                   (default: resilience-operator)
          --webhook-service NAME   Service in front of the webhook, named in the certificate
                                   (default: resilience-operator-webhook)
          --webhook-cert-dir DIR   serve tls.crt/tls.key from DIR instead (cert-manager); caBundle is not touched
        """;
}
