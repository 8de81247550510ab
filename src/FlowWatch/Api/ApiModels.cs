using System.Text.Json.Serialization;
using FlowWatch.Detectors;
using FlowWatch.Findings;

namespace FlowWatch.Api;

/// <summary>Answer of <c>GET /api/v1/flows</c>.</summary>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next older page; null on the last page.</param>
/// <param name="Latest">Sequence number of the newest stored flow; pass as <c>after</c> to follow new flows.</param>
public sealed record FlowsResponse(IReadOnlyList<FlowView> Flows, string? NextCursor, long Latest, long Retained, long Scanned, bool Truncated = false, [property: JsonPropertyOrder(-1)] string? Cluster = null);

/// <summary>One flow as the API shows it.</summary>
/// <param name="Id">Sequence number in the store: increases with arrival, used by <c>cursor</c> and <c>after</c>.</param>
/// <param name="Summary">What <c>hubble observe</c> would say about it ("TCP Flags: SYN", "DNS Query example.com. A").</param>
public sealed record FlowView(
    long Id, DateTimeOffset Time, string Node, string Verdict, string? DropReason, int? DropReasonCode,
    string Protocol, EndpointView Source, EndpointView Destination, string? TcpFlags, string? Direction,
    bool? IsReply, string? ObservationPoint, L7View? L7, string Summary);

/// <summary>One side of a flow.</summary>
/// <param name="Display">"namespace/pod", or the reserved identity ("(world)", "(host)") for non-pods.</param>
public sealed record EndpointView(
    string? Ip, int? Port, uint Identity, string? Namespace, string? Pod, string? Workload, string? WorkloadKind,
    string? Service, string Display);

/// <summary>The L7 part of a flow: DNS (query, qtype, rcode) or HTTP (method, url, code).</summary>
public sealed record L7View(string Protocol, string Kind, string? Query, string? QType, int? Rcode, string? Method, string? Url, int? Code);

/// <summary>Answer of <c>GET /api/v1/findings</c>: open findings (newest first), then recently resolved ones.</summary>
/// <param name="Cluster">The cluster this FlowWatch reports on (each finding names it too).</param>
public sealed record FindingsResponse(int Open, int Resolved, IReadOnlyList<Finding> Findings, [property: JsonPropertyOrder(-1)] string? Cluster = null);

/// <summary>Answer of <c>GET /api/v1/pods/{namespace}/{pod}/health</c>.</summary>
/// <param name="Sections">One entry per detector that knows the pod, by its section name ("dns", "handshakes", ...).</param>
/// <param name="KnownBy">Which detectors (and "store") have seen the pod.</param>
public sealed record PodHealthResponse(
    string Namespace, string Pod, IReadOnlyList<string> KnownBy, IReadOnlyDictionary<string, object> Sections,
    IReadOnlyList<FlowView> RecentDrops, IReadOnlyList<Finding> Findings, [property: JsonPropertyOrder(-1)] string? Cluster = null);

/// <summary>Answer of <c>GET /api/v1/services/{namespace}/{service}/backends</c>.</summary>
public sealed record BackendsResponse(string Namespace, string Service, IReadOnlyList<BackendHealth> Backends, [property: JsonPropertyOrder(-1)] string? Cluster = null);

/// <summary>Every 4xx answer: what is wrong, and with which parameter.</summary>
/// <param name="Cluster">The cluster of the FlowWatch that answered, so that a client asking several can say which one refused.</param>
public sealed record ApiError(string Error, string? Parameter = null, [property: JsonPropertyOrder(-1)] string? Cluster = null);
