namespace ResilienceOperator.Demo;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var command = args.Length > 0 ? args[0] : "demo";
        try
        {
            return command switch
            {
                "demo" when args.Contains("--stateful") => await new StatefulDemoRun().RunAsync(cts.Token),
                "demo" => await new DemoRun(args.Contains("--watch")).RunAsync(cts.Token),
                "bench" => await new Benchmark(args).RunAsync(cts.Token),
                "bench-cluster" => await new ClusterBenchmark(args).RunAsync(cts.Token),
                "bench-leader" => await new LeaderBenchmark(args).RunAsync(cts.Token),
                "bench-scale" => await new ScaleBenchmark(args).RunAsync(cts.Token),
                _ => Usage(),
            };
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: ResilienceOperator.Demo demo [--watch | --stateful] | " +
            "bench [--runs 20] [--policies 100] | " +
            "bench-cluster [--starts 5] [--pods 20] | bench-leader [--runs 5] [--operator PATH.dll] | " +
            "bench-scale --policies N [--namespaces 10] [--interval 10s] [--operator PATH.dll] [--rest-seconds 60] [--in-flight 32] [--faults 3]");
        return 2;
    }
}
