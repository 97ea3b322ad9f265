namespace ResilienceOperator.NodeSimulator;

/// <summary>How many nodes to simulate and what to call them.</summary>
public sealed class NodeSimulatorOptions
{
    /// <summary>Number of Nodes registered.</summary>
    public int Nodes { get; set; } = 2;

    /// <summary>Node names are this prefix plus an index.</summary>
    public string NodePrefix { get; set; } = "sim-node";

    /// <summary>Concurrent writes to the API server.</summary>
    public int Writers { get; set; } = 4;

    /// <summary>
    /// Pod IPs come from 127.N.0.0/16 with this N (1..254). Two simulators on one machine (two
    /// test runs at once) each need their own N, or their pods' listeners collide.
    /// </summary>
    public byte PodNetwork { get; set; } = 1;
}
