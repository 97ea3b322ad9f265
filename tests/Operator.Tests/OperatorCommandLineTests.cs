namespace ResilienceOperator.Tests;

public sealed class OperatorCommandLineTests
{
    private static Dictionary<string, string?> Env(params (string Name, string Value)[] vars) => vars.ToDictionary(v => v.Name, v => (string?)v.Value);

    [Fact]
    public void Parse_FlagEqualsValue_Set()
    {
        var o = OperatorOptions.Parse(["--workers=8", "--log-level=debug", "--namespaces=a,b", "--leader-elect=false"]);
        Assert.Equal(8, o.Workers);
        Assert.Equal("Debug", o.LogLevel);
        Assert.Equal(["a", "b"], o.Namespaces);
        Assert.False(o.LeaderElect);
    }

    [Fact]
    public void Parse_FlagSpaceValue_Set()
    {
        var o = OperatorOptions.Parse(["--workers", "8", "--readiness-stall-timeout", "90s", "--leader-elect"]);
        Assert.Equal(8, o.Workers);
        Assert.Equal(TimeSpan.FromSeconds(90), o.ReadinessStallTimeout);
        Assert.True(o.LeaderElect);
    }

    [Fact]
    public void Parse_EnvironmentVariable_Set()
    {
        var o = OperatorOptions.Parse([], Env(("RESILIENCE_OPERATOR_WORKERS", "6"), ("RESILIENCE_OPERATOR_LEADER_ELECT", "true"),
            ("RESILIENCE_OPERATOR_LEASE_NAME", "team-a"), ("RESILIENCE_OPERATOR_OBSERVER_SUSPECT_THRESHOLD", "0.8")));
        Assert.Equal(6, o.Workers);
        Assert.True(o.LeaderElect);
        Assert.Equal("team-a", o.LeaseName);
        Assert.Equal(0.8, o.ObserverSuspectThreshold);
    }

    [Fact]
    public void Parse_EmptyEnvironmentVariable_Ignored()
    {
        var o = OperatorOptions.Parse([], Env(("RESILIENCE_OPERATOR_WORKERS", "")));
        Assert.Equal(4, o.Workers);
    }

    [Fact]
    public void Parse_CommandLineAndEnvironment_CommandLineWins()
    {
        var env = Env(("RESILIENCE_OPERATOR_WORKERS", "6"), ("RESILIENCE_OPERATOR_LOG_FORMAT", "json"));
        var o = OperatorOptions.Parse(["--workers=2"], env);
        Assert.Equal(2, o.Workers);
        Assert.Equal("json", o.LogFormat); // not on the command line: from the environment
        // A bad value in the environment is not read when the command line sets the option.
        Assert.Equal(3, OperatorOptions.Parse(["--workers", "3"], Env(("RESILIENCE_OPERATOR_WORKERS", "many"))).Workers);
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--workers=abc", "--workers")]
    [InlineData("--workers=0", "--workers")]
    [InlineData("--port=70000", "--port")]
    [InlineData("--log-level=loud", "--log-level")]
    [InlineData("--log-format=xml", "--log-format")]
    [InlineData("--observer-suspect-threshold=1.5", "--observer-suspect-threshold")]
    [InlineData("--observer-suspect-min-targets=0", "--observer-suspect-min-targets")]
    [InlineData("--readiness-stall-timeout=soon", "--readiness-stall-timeout")]
    [InlineData("--leader-elect=maybe", "--leader-elect")]
    [InlineData("--kubeconfig", "--kubeconfig")]
    [InlineData("--shard-selector=shard in a", "--shard-selector")]
    [InlineData("--shard-selector=", "--shard-selector")]
    public void Parse_BadValue_InvalidNamingTheOption(string arg, string option)
    {
        var invalid = Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse([arg]));
        Assert.Contains(invalid.Errors, e => e.Contains(option, StringComparison.Ordinal));
        Assert.Contains("--workers <N>", invalid.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--renew-deadline=15s", "--renew-deadline")] // not below the lease duration
    [InlineData("--retry-period=9s", "--retry-period")]      // a jittered retry would outlast the renew deadline
    public void Parse_UnsafeLeaderElectionDurations_InvalidNamingTheOption(string arg, string option)
    {
        var invalid = Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse(["--leader-elect", arg]));
        Assert.StartsWith(option, Assert.Single(invalid.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ShardSelector_GoesToTheOptions()
    {
        var o = OperatorOptions.Parse(["--shard-selector", "!resilience.dev/shard"], Env(("RESILIENCE_OPERATOR_LEASE_NAME", "leader-default")));
        Assert.Equal("!resilience.dev/shard", o.ShardSelector.Text);
        Assert.True(o.ShardSelector.Matches(null));
        Assert.True(OperatorOptions.Parse([]).ShardSelector.IsEverything);
    }

    [Fact]
    public void Parse_ShardSelectorFromEnvironment_BadValueNamesVariable()
    {
        var invalid = Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse([],
            Env(("RESILIENCE_OPERATOR_SHARD_SELECTOR", "resilience.dev/shard=a b"))));
        Assert.Contains("RESILIENCE_OPERATOR_SHARD_SELECTOR: --shard-selector is not a label selector", Assert.Single(invalid.Errors),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ShardWithLeaderElectionButDefaultLease_Invalid()
    {
        // Two shards on the default Lease: one would never lead, and nobody would say so.
        var invalid = Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse(["--leader-elect", "--shard-selector=resilience.dev/shard=a"]));
        Assert.StartsWith("--shard-selector with --leader-elect needs --lease-name", Assert.Single(invalid.Errors), StringComparison.Ordinal);
        var run = Assert.IsType<CommandLineRequest.Run>(OperatorCommandLine.Parse(
            ["--leader-elect", "--shard-selector=resilience.dev/shard=a", "--lease-name=resilience-operator-leader-a"]));
        Assert.Equal("resilience-operator-leader-a", run.Options.LeaseName);
    }

    [Fact]
    public void Parse_BadEnvironmentValue_InvalidNamingVariableAndOption()
    {
        var invalid = Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse([], Env(("RESILIENCE_OPERATOR_WORKERS", "many"))));
        var error = Assert.Single(invalid.Errors);
        Assert.Contains("RESILIENCE_OPERATOR_WORKERS", error, StringComparison.Ordinal);
        Assert.Contains("--workers", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Answer_BadValue_ExitTwoWithErrorAndUsageOnStderr()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(2, Program.Answer(OperatorCommandLine.Parse(["--log-level", "loud"]), stdout, stderr));
        Assert.Empty(stdout.ToString());
        Assert.Contains("error: --log-level", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains(OperatorCommandLine.Usage, stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Answer_Help_UsageOnStdoutExitZero(string arg)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, Program.Answer(OperatorCommandLine.Parse([arg]), stdout, stderr));
        var text = stdout.ToString();
        Assert.Equal(OperatorCommandLine.Usage, text);
        foreach (var option in new[] { "--kubeconfig", "--namespaces", "--leader-elect", "--lease-namespace", "--lease-name", "--lease-duration", "--renew-deadline",
                     "--retry-period", "--workers", "--port", "--bind-address", "--log-format", "--log-level", "--readiness-stall-timeout", "generate" })
            Assert.Contains(option, text, StringComparison.Ordinal);
        Assert.Contains("RESILIENCE_OPERATOR_WORKERS", text, StringComparison.Ordinal);
        Assert.Empty(stderr.ToString());
    }

    [Fact]
    public void Answer_Run_GoesOn()
    {
        Assert.Null(Program.Answer(OperatorCommandLine.Parse(["--workers=2"]), TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public void Parse_GenerateCrds_OutputDirectory()
    {
        Assert.Equal("out", Assert.IsType<CommandLineRequest.GenerateCrds>(OperatorCommandLine.Parse(["generate", "crds", "--output=out"])).Output);
        Assert.Null(Assert.IsType<CommandLineRequest.GenerateCrds>(OperatorCommandLine.Parse(["generate", "crds"])).Output);
        Assert.IsType<CommandLineRequest.Invalid>(OperatorCommandLine.Parse(["generate"]));
    }

    [Theory]
    [InlineData("--workers", "RESILIENCE_OPERATOR_WORKERS")]
    [InlineData("--observer-suspect-min-targets", "RESILIENCE_OPERATOR_OBSERVER_SUSPECT_MIN_TARGETS")]
    public void EnvironmentVariable_PrefixAndUpperSnakeCase(string option, string variable) =>
        Assert.Equal(variable, OperatorCommandLine.EnvironmentVariable(option));

    [Fact]
    public void Parse_OptionGivenTwice_LastOneWins()
    {
        // The chart passes its own arguments and appends extraArgs after them.
        var o = OperatorOptions.Parse(["--workers", "4", "--lease-name", "a", "--workers=8", "--lease-name", "b"]);
        Assert.Equal((8, "b"), (o.Workers, o.LeaseName));
    }
}
