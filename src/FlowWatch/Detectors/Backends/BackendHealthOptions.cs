namespace FlowWatch.Detectors.Backends;

/// <summary>Settings of the <see cref="BackendHealthDetector"/>.</summary>
public sealed record BackendHealthOptions
{
    /// <summary>Rolling window of each backend's health, kept in <see cref="Bucket"/>-sized buckets. The default is 1 minute:
    /// a backend failing 30% of its handshakes among healthy siblings is degraded within 30 s of event time, one failing
    /// every handshake unhealthy within about 40 s (timeouts are decided 10 s after the SYN).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The default is 5 seconds.</summary>
    public TimeSpan Bucket { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Handshakes (or HTTP responses) in the window before a backend can be called degraded or unhealthy by ratio.</summary>
    public int MinSamples { get; init; } = 10;

    /// <summary>Failure share at or above which a backend is degraded; a degraded backend failing at least this much more
    /// than its siblings together (with one of them healthy) raises a Warning finding.</summary>
    public double DegradedRatio { get; init; } = 0.1;

    /// <summary>Failure share at or above which a backend is unhealthy (and a finding is raised).</summary>
    public double UnhealthyRatio { get; init; } = 0.5;

    /// <summary>Count HTTP 5xx responses as failures.</summary>
    public bool Http5xxIsFailure { get; init; } = true;

    /// <summary>Services known before (or without) cluster state; cluster state for the same service replaces them.</summary>
    public IReadOnlyList<StaticServiceConfig> Services { get; init; } = [];

    /// <summary>Event time without a new report before a finding resolves.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Bound of tracked backends; the one quiet longest is evicted and counted.</summary>
    public int MaxBackends { get; init; } = 10_000;

    /// <summary>Bound of tracked services; further ones are ignored and counted.</summary>
    public int MaxServices { get; init; } = 2_000;

    /// <summary>A backend learned only from flows is forgotten after this long without traffic.</summary>
    public TimeSpan LearnedBackendExpiry { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        if (Bucket <= TimeSpan.Zero || Window < Bucket) throw new ArgumentException("Window must be at least one Bucket");
        if (MinSamples < 1) throw new ArgumentException("MinSamples must be at least 1");
        if (DegradedRatio is <= 0 or > 1 || UnhealthyRatio is <= 0 or > 1 || DegradedRatio > UnhealthyRatio)
            throw new ArgumentException("need 0 < DegradedRatio <= UnhealthyRatio <= 1");
        if (QuietPeriod <= TimeSpan.Zero) throw new ArgumentException("QuietPeriod must be positive");
        if (MaxBackends < 1 || MaxServices < 1) throw new ArgumentException("bounds must be positive");
        foreach (var s in Services) s.Validate();
    }
}

/// <summary>A NodePort/LoadBalancer service given in configuration, used until cluster state describes it.</summary>
public sealed record StaticServiceConfig(
    string Namespace, string Service, int NodePort, int TargetPort, IReadOnlyList<StaticBackendConfig> Backends, string Type = "NodePort")
{
    public void Validate()
    {
        if (string.IsNullOrEmpty(Namespace) || string.IsNullOrEmpty(Service)) throw new ArgumentException("static service needs namespace and service");
        if (TargetPort is < 1 or > 65535) throw new ArgumentException($"static service {Namespace}/{Service}: targetPort {TargetPort} out of range");
        foreach (var b in Backends)
            if (!Flows.IpAddr.TryParse(b.Ip, out _))
                throw new ArgumentException($"static service {Namespace}/{Service}: backend {b.Pod} has invalid IP '{b.Ip}'");
    }
}

/// <summary>One backend pod of a <see cref="StaticServiceConfig"/>.</summary>
public sealed record StaticBackendConfig(string Pod, string Ip, string Node = "");
