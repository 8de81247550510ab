namespace FlowWatch.Hubble;

/// <summary>How <see cref="HubbleStreamSource"/> connects, filters, watches for stalls and resumes.</summary>
public sealed record HubbleClientOptions
{
    public HubbleTlsOptions Tls { get; init; } = new();

    /// <summary>Only flows from or to these namespaces (empty: all), as <c>hubble observe --namespace</c>.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>Only flows seen on these nodes (Hubble's node_name patterns: "node", "k8s*", "cluster/node"); empty: all.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>A stream that delivers nothing for this long is abandoned and reopened.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>HTTP/2 PING cadence on an otherwise quiet connection, and how long a PING may go unanswered.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far before the newest flow a reconnect asks to resume from. Relay merges nodes' streams only roughly
    /// in time order (its sort buffer drains after about a second), so resuming exactly at the newest flow could
    /// skip a slower node's flows.
    /// </summary>
    public TimeSpan ResumeOverlap { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most flow ids remembered for the overlap de-duplication; beyond it the oldest are forgotten (and counted).</summary>
    public int ResumeMemory { get; init; } = 262_144;

    /// <summary>How often GetNodes and ServerStatus are asked; zero turns the poller off.</summary>
    public TimeSpan StatusPollInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        Tls.Validate();
        if (IdleTimeout < TimeSpan.FromMilliseconds(100))
            throw new ArgumentException($"idle timeout must be at least 100ms, such as 60s (got {IdleTimeout.TotalMilliseconds:0.#} ms)", nameof(IdleTimeout));
        if (MaxBackoff < InitialBackoff || InitialBackoff <= TimeSpan.Zero)
            throw new ArgumentException("backoff must be positive and the maximum at least the initial one", nameof(MaxBackoff));
        if (ResumeOverlap < TimeSpan.Zero) throw new ArgumentException("resume overlap must not be negative", nameof(ResumeOverlap));
        if (ResumeMemory < 1) throw new ArgumentException("resume memory must be at least 1", nameof(ResumeMemory));
        foreach (var ns in Namespaces)
            if (ns.Length == 0 || ns.Contains('/')) throw new ArgumentException($"'{ns}' is not a namespace name", nameof(Namespaces));
        foreach (var node in Nodes)
            if (node.Length == 0) throw new ArgumentException("empty node name", nameof(Nodes));
    }
}
