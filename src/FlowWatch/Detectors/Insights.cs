namespace FlowWatch.Detectors;

/// <summary>A detector that knows something about one pod adds a section to that pod's health report.</summary>
/// <remarks>Called from API threads while the pipeline runs: implementations must be thread-safe.</remarks>
public interface IPodInsight
{
    /// <summary>Section name in the report ("dns", "handshakes", "duplicate_ip", ...).</summary>
    string Section { get; }

    /// <summary>A JSON-serialisable summary for the pod, or null when the detector has nothing on it.</summary>
    object? DescribePod(string @namespace, string pod);

    /// <summary>Whether the detector has seen the pod at all (the API answers 404 when none has).</summary>
    bool KnowsPod(string @namespace, string pod);
}

/// <summary>Per-backend health behind NodePort/LoadBalancer services.</summary>
public interface IBackendInsight
{
    IReadOnlyList<(string Namespace, string Service)> Services { get; }

    /// <summary>The service's backends with their health, or null when the service is unknown.</summary>
    IReadOnlyList<BackendHealth>? DescribeService(string @namespace, string service);
}

/// <summary>Rolling health of one backend pod of a service, as flows show it.</summary>
/// <param name="State">healthy, degraded, unhealthy or idle (no traffic in the window).</param>
/// <param name="Score">The <c>flowwatch_backend_health</c> value: 1 healthy, 0.5 degraded, 0 unhealthy, -1 idle.</param>
/// <param name="Handshakes">Counts in the window by outcome (completed, refused, dropped, reply_lost, timeout).</param>
/// <param name="HttpClasses">HTTP responses in the window by class (2xx, 3xx, 4xx, 5xx), when L7 visibility is on.</param>
public sealed record BackendHealth(
    string Namespace, string Service, string Pod, string Node, string Ip, int TargetPort, int NodePort,
    string State, double Score,
    IReadOnlyDictionary<string, long> Handshakes,
    IReadOnlyDictionary<string, long> HttpClasses,
    double? LatencyP50Ms,
    bool? Ready,
    DateTimeOffset? LastSeen);
