using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator;

/// <summary>What the command line asks the process to do.</summary>
internal abstract record CommandLineRequest
{
    /// <summary>Run the operator with these options.</summary>
    public sealed record Run(OperatorOptions Options) : CommandLineRequest;
    /// <summary><c>generate crds [--output DIR]</c>; a null directory means config/crd of the repository.</summary>
    public sealed record GenerateCrds(string? Output) : CommandLineRequest;
    /// <summary>Help was asked for: print this text and exit 0.</summary>
    public sealed record Print(string Text) : CommandLineRequest;
    /// <summary>Bad arguments or environment: print these errors and the usage on stderr, exit 2.</summary>
    public sealed record Invalid(IReadOnlyList<string> Errors, string Usage) : CommandLineRequest;
}

/// <summary>
/// The operator's command line, by System.CommandLine: every option takes <c>--flag value</c> and
/// <c>--flag=value</c>, and every option can also be set by an environment variable named
/// <see cref="EnvironmentPrefix"/> + the option's name without the dashes, upper-cased, dashes
/// turned into underscores (<c>--workers</c> → <c>RESILIENCE_OPERATOR_WORKERS</c>). The command
/// line wins over the environment; an empty variable counts as unset. Values are checked here,
/// before anything starts: a bad one is an error naming the option (and the variable, when it
/// came from there).
/// </summary>
internal static class OperatorCommandLine
{
    public const string EnvironmentPrefix = "RESILIENCE_OPERATOR_";
    private const string ProgramName = "ResilienceOperator";

    private static readonly string[] LogLevels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"];

    /// <summary>The environment variable that sets an option: <c>--lease-name</c> → <c>RESILIENCE_OPERATOR_LEASE_NAME</c>.</summary>
    public static string EnvironmentVariable(string option) =>
        EnvironmentPrefix + option.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    /// <summary>The usage text: what <c>--help</c> prints, and what follows an error on stderr.</summary>
    public static string Usage => UsageText.Value;

    private static readonly Lazy<string> UsageText = new(() => HelpOf(Build().Root));

    public static CommandLineRequest Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var cli = Build();
        var result = cli.Root.Parse(args);
        if (result.Errors.Count > 0) return Invalid(result, cli, fromEnvironment: []);
        if (result.Action is HelpAction) return new CommandLineRequest.Print(Invoke(result));
        if (result.CommandResult.Command == cli.Crds) return new CommandLineRequest.GenerateCrds(result.GetValue(cli.Output));

        // Options not on the command line come from the environment, checked by the same parser.
        var fromEnvironment = new List<Option>();
        var merged = args.ToList();
        foreach (var (option, _) in cli.Bindings)
        {
            if (result.GetResult(option) is { Implicit: false }) continue;
            if (environment?.GetValueOrDefault(EnvironmentVariable(option.Name)) is not { Length: > 0 } value) continue;
            merged.Add(option.Name + "=" + value);
            fromEnvironment.Add(option);
        }
        if (fromEnvironment.Count > 0)
        {
            result = cli.Root.Parse(merged);
            if (result.Errors.Count > 0) return Invalid(result, cli, fromEnvironment);
        }

        var options = new OperatorOptions();
        foreach (var (option, set) in cli.Bindings)
            if (result.GetResult(option) is { Implicit: false }) set(result, options);
        if (options.LeaderElect && LeaderElectionError(options) is { } error)
            return new CommandLineRequest.Invalid([error], Usage);
        // Two shards behind one Lease: one of them would never lead and its policies would go unwatched, silently.
        if (options.LeaderElect && !options.ShardSelector.IsEverything
            && !cli.Bindings.Any(b => b.Option.Name == "--lease-name" && result.GetResult(b.Option) is { Implicit: false }))
            return new CommandLineRequest.Invalid(["--shard-selector with --leader-elect needs --lease-name: each shard leads through a Lease of its own"],
                Usage);
        if (options.WebhookPort > 0 && options.WebhookPort == options.Port)
            return new CommandLineRequest.Invalid([$"--webhook-port ({options.WebhookPort}) must differ from --port"], Usage);
        return new CommandLineRequest.Run(options);
    }

    private static CommandLineRequest.Invalid Invalid(ParseResult result, Cli cli, List<Option> fromEnvironment)
    {
        var errors = result.Errors.Select(e =>
        {
            var option = (e.SymbolResult as OptionResult)?.Option ?? (e.SymbolResult?.Parent as OptionResult)?.Option;
            return option is not null && fromEnvironment.Contains(option) ? $"{EnvironmentVariable(option.Name)}: {e.Message}" : e.Message;
        }).Distinct().ToList();
        return new CommandLineRequest.Invalid(errors, result.CommandResult.Command == cli.Root ? Usage : HelpOf(result.CommandResult.Command));
    }

    /// <summary>client-go's rules for safe leader-election durations, naming the options.</summary>
    private static string? LeaderElectionError(OperatorOptions o)
    {
        var t = o.LeaderElectionTimings;
        if (t.LeaseDuration <= t.RenewDeadline)
            return $"--renew-deadline ({GoDuration.Format(t.RenewDeadline)}) must be shorter than " +
                $"--lease-duration ({GoDuration.Format(t.LeaseDuration)}): no margin for a paused leader";
        if (t.RenewDeadline <= t.RetryPeriod * LeaderElectionTimings.JitterFactor)
            return $"--retry-period ({GoDuration.Format(t.RetryPeriod)}) must be shorter than " +
                $"--renew-deadline ({GoDuration.Format(t.RenewDeadline)}) / {LeaderElectionTimings.JitterFactor}: " +
                "a jittered retry would outlast the deadline";
        return null;
    }

    private sealed record Cli(Command Root, Command Crds, Option<string> Output, List<(Option Option, Action<ParseResult, OperatorOptions> Set)> Bindings);

    private delegate bool TryParse<T>(string text, out T value);

    private static Cli Build()
    {
        var root = new Command(ProgramName, "Keeps ResiliencePolicies: health checks, failover, backups, restores and drills.");
        root.Options.Add(new HelpOption());
        // Running the operator is the root command's own action (Program runs it): no subcommand needed.
        root.SetAction(_ => 0);
        var bindings = new List<(Option, Action<ParseResult, OperatorOptions>)>();
        void Add<T>(Option<T> option, Action<OperatorOptions, T> set)
        {
            option.Description += $" [env: {EnvironmentVariable(option.Name)}]";
            root.Options.Add(option);
            bindings.Add((option, (r, o) => set(o, r.GetValue(option)!)));
        }

        Add(Text("--kubeconfig", "PATH", "kubeconfig file (default: in-cluster, else ~/.kube/config)"), (o, v) => o.Kubeconfig = v);
        Add(Text("--namespaces", "a,b", "watch only these namespaces (default: all)"),
            (o, v) => o.Namespaces = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]);
        // A flag that also takes true or false; typed as text so that a bad value is an error naming it.
        var leaderElect = Parsed<string>("--leader-elect", "true|false",
            "take part in leader election (Lease in --lease-namespace); --leader-elect=false turns it off",
            (string s, out string v) => (v = s.Length == 0 ? "true" : s.ToLowerInvariant()) is "true" or "false", "is true or false");
        leaderElect.Arity = ArgumentArity.ZeroOrOne;
        Add(leaderElect, (o, v) => o.LeaderElect = v == "true");
        Add(Text("--lease-namespace", "NS", "namespace of the leader-election Lease (default: $POD_NAMESPACE or default)"), (o, v) => o.LeaseNamespace = v);
        Add(Text("--lease-name", "NAME", "name of the Lease (default: resilience-operator-leader)"), (o, v) => o.LeaseName = v);
        var shard = new Option<LabelSelector>("--shard-selector")
        {
            HelpName = "SELECTOR", Arity = ArgumentArity.OneOrMore,
            Description = "reconcile only the ResiliencePolicies this label selector matches, e.g. resilience.dev/shard=a, " +
                "or !resilience.dev/shard for the shard of unlabelled ones; each shard needs its own --lease-name (default: every policy)",
        };
        shard.CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (LabelSelector.TryParse(text, out var selector, out var error) && !selector.IsEverything) return selector;
            r.AddError($"--shard-selector is not a label selector ('{text}'): {error ?? "it is empty"}");
            return LabelSelector.Everything;
        };
        Add(shard, (o, v) => o.ShardSelector = v);
        Add(Duration("--lease-duration", "leader election: lease duration (default: 15s)"), (o, v) => o.LeaseDuration = v);
        Add(Duration("--renew-deadline",
            "leader election: a leader that cannot renew within D stops writing and steps down (default: 10s)"),
            (o, v) => o.RenewDeadline = v);
        Add(Duration("--retry-period", "leader election: interval between acquire and renew attempts (default: 2s)"), (o, v) => o.RetryPeriod = v);
        Add(Parsed<int>("--workers", "N", "reconcile workers per controller (default: 4)", IntIn(1, 1000),
            "is a whole number from 1 to 1000"), (o, v) => o.Workers = v);
        Add(Parsed<int>("--port", "N", "port for /healthz, /readyz, /metrics (default: 8080; 0 = off)", IntIn(0, 65535),
            "is a port number from 0 to 65535"), (o, v) => o.Port = v);
        Add(Text("--bind-address", "ADDR", "address for that port (default: 0.0.0.0)"), (o, v) => o.BindAddress = v);
        Add(Parsed<string>("--log-format", "text|json", "console log format (default: text)",
            (string s, out string v) => (v = s) is "text" or "json", "is text or json"), (o, v) => o.LogFormat = v);
        Add(Parsed<string>("--log-level", "LEVEL", "Trace, Debug, Information, Warning, Error, Critical or None (default: Information)",
            (string s, out string v) => (v = LogLevels.FirstOrDefault(l => l.Equals(s, StringComparison.OrdinalIgnoreCase))!) is not null,
            "is one of " + string.Join(", ", LogLevels)), (o, v) => o.LogLevel = v);
        Add(Parsed<double>("--observer-suspect-threshold", "X",
            "hold failovers while more than this share (0..1) of all checked targets turned failing at once: " +
            "the operator suspects its own view (default: 0.55; 1 = off)",
            (string s, out double v) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && v is >= 0 and <= 1,
            "is a share from 0 to 1"), (o, v) => o.ObserverSuspectThreshold = v);
        Add(Parsed<int>("--observer-suspect-min-targets", "N", "... and at least this many targets turned failing (default: 3)",
            IntIn(1, int.MaxValue), "is at least 1"),
            (o, v) => o.ObserverSuspectMinTargets = v);
        Add(Duration("--readiness-stall-timeout",
            "while leading, /readyz fails when a work queue's oldest item has waited this long and no item was done meanwhile (default: 2m)"),
            (o, v) => o.ReadinessStallTimeout = v);
        Add(Parsed<int>("--webhook-port", "N",
            "HTTPS port of the validating admission webhook, e.g. 9443 (default: 0 = off; the chart sets it)",
            IntIn(0, 65535), "is a port number from 1 to 65535, or 0 for no webhook"),
            (o, v) => o.WebhookPort = v);
        Add(Text("--webhook-secret", "NAME", "Secret in the operator's namespace holding the webhook's CA and certificate, " +
            "made and renewed by the operator (default: resilience-operator-webhook-tls)"),
            (o, v) => o.WebhookSecret = v);
        Add(Text("--webhook-configuration", "a,b", "ValidatingWebhookConfigurations whose caBundle the operator sets (default: resilience-operator)"),
            (o, v) => o.WebhookConfigurations = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]);
        Add(Text("--webhook-service", "NAME", "Service in front of the webhook, named in the certificate (default: resilience-operator-webhook)"),
            (o, v) => o.WebhookService = v);
        Add(Text("--webhook-cert-dir", "DIR", "serve tls.crt/tls.key from DIR instead (cert-manager); caBundle is not touched"),
            (o, v) => o.WebhookCertDir = v);

        var output = new Option<string>("--output")
        {
            HelpName = "DIR", Description = "directory for the CRD manifests (default: config/crd of the repository)",
        };
        var crds = new Command("crds", "write the CustomResourceDefinitions generated from the entity types") { output };
        var generate = new Command("generate", "generate files from the code") { crds };
        root.Subcommands.Add(generate);
        return new Cli(root, crds, output, bindings);
    }

    private static Option<string> Text(string name, string helpName, string description) =>
        Parsed<string>(name, helpName, description, (string s, out string v) => (v = s).Length > 0, "needs a value");

    private static Option<TimeSpan> Duration(string name, string description) =>
        Parsed<TimeSpan>(name, "D", description, (string s, out TimeSpan v) => GoDuration.TryParse(s, out v) && v > TimeSpan.Zero,
            "takes a duration such as 15s, 500ms or 2m");

    private static TryParse<int> IntIn(int min, int max) =>
        (string s, out int v) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= min && v <= max;

    /// <summary>An option whose value is checked by <paramref name="parse"/>; a bad value is an error naming the option.</summary>
    private static Option<T> Parsed<T>(string name, string helpName, string description, TryParse<T> parse, string expected)
    {
        // Given twice (the chart's argument, then extraArgs or a person's), the last one wins, as with kube's own flags.
        var option = new Option<T>(name) { HelpName = helpName, Description = description, Arity = ArgumentArity.OneOrMore };
        option.CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (parse(text, out var value)) return value;
            r.AddError($"{name} {expected}, not '{text}'");
            return default!;
        };
        return option;
    }

    private static string Invoke(ParseResult result)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        result.Invoke(new InvocationConfiguration { Output = writer, Error = writer });
        var text = writer.ToString();
        return result.CommandResult.Command.Parents.Any() ? text : text + EnvironmentHelp;
    }

    private static string HelpOf(Command command)
    {
        var path = new List<string>();
        for (Symbol? c = command; c is not null; c = c.Parents.FirstOrDefault()) path.Insert(0, c.Name);
        var root = command;
        while (root.Parents.FirstOrDefault() is Command parent) root = parent;
        return Invoke(root.Parse([.. path.Skip(1), "--help"]));
    }

    private static readonly string EnvironmentHelp = $"""
        Environment:
          Every option can also be set by an environment variable: {EnvironmentPrefix} and the option's
          name without the leading dashes, upper-cased, dashes as underscores (--workers ->
          {EnvironmentVariable("--workers")}, --leader-elect=false -> {EnvironmentVariable("--leader-elect")}=false).
          The command line wins over the environment; an empty variable is ignored.

        """;
}
