using NetArchTest.Rules;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Architecture;

/// <summary>
/// The layering, enforced: entities → pure planning → runtime and I/O → controllers → host. Each
/// namespace may use only the ones below it, so there is no cycle and the planners stay pure.
/// docs/development.md ("Where code goes") draws the same picture.
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "ResilienceOperator";
    private const string Planning = Root + ".Planning";
    private const string Runtime = Root + ".Runtime";
    private const string Health = Root + ".Health";
    private const string Notifications = Root + ".Notifications";
    private const string Kubernetes = Root + ".Kubernetes";
    private const string Admission = Root + ".Admission"; // part of the host: it serves the webhook with the host's options
    private const string Crds = Root + ".Crds";
    private const string Controllers = Root + ".Controllers";
    private const string Hosting = Root + ".Hosting";
    private const string Entities = Root + ".Entities";
    /// <summary>The host's own types at the root of the namespace (OperatorHost, OperatorOptions, …, Program), by full name.</summary>
    private static readonly string[] HostRoot = [.. typeof(PolicyPlanner).Assembly.GetTypes()
        .Where(t => t.Namespace == Root && !t.IsNested && !t.Name.StartsWith('<'))
        .Select(t => t.FullName!)];

    /// <summary>For each layer, what it must not use: everything above it (and beside it, where that would make a cycle).</summary>
    public static TheoryData<string, string[]> Forbidden => new()
    {
        { Planning, [Runtime, Health, Notifications, Kubernetes, Admission, Crds, Controllers, Hosting, .. HostRoot] },
        { Runtime, [Entities, Planning, Health, Notifications, Kubernetes, Admission, Crds, Controllers, Hosting, .. HostRoot] },
        { Health, [Notifications, Kubernetes, Admission, Crds, Controllers, Hosting, .. HostRoot] },
        { Notifications, [Health, Kubernetes, Admission, Crds, Controllers, Hosting, .. HostRoot] },
        { Kubernetes, [Notifications, Admission, Crds, Controllers, Hosting, .. HostRoot] },
        { Crds, [Planning, Runtime, Health, Notifications, Kubernetes, Admission, Controllers, Hosting, .. HostRoot] },
        // The admission webhook is served by the host (it reads the host's options): only the host uses it.
        { Controllers, [Admission, Crds, Hosting, .. HostRoot] },
    };

    [Fact]
    public void HostRoot_NamesTheHostsTypes() => Assert.Contains(Root + ".OperatorOptions", HostRoot);

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Layer_UsesOnlyTheLayersBelowIt(string layer, string[] forbidden)
    {
        var types = Types.InAssembly(typeof(PolicyPlanner).Assembly).That().ResideInNamespace(layer);
        Assert.NotEmpty(types.GetTypes()); // a renamed namespace must not make the rule pass on nothing
        var result = types.ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful, $"{layer} uses a layer above it: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Planning_IsPure_NoClientNetworkMetricsOrLogging()
    {
        var result = Types.InAssembly(typeof(PolicyPlanner).Assembly).That().ResideInNamespace(Planning)
            .ShouldNot().HaveDependencyOnAny("k8s.IKubernetes", "k8s.Kubernetes", "System.Net.Http", "System.Net.Sockets", "Prometheus",
                "Microsoft.Extensions.Logging")
            .GetResult();
        Assert.True(result.IsSuccessful, $"planning types do I/O: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }
}
