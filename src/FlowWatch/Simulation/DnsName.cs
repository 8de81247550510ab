namespace FlowWatch.Simulation;

/// <summary>A name a workload resolves: the answer, and the search-path expansion tried first (answered NXDOMAIN) if any.</summary>
internal sealed record DnsName(string Query, string Answer, string? Expansion);
