using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;
using Prometheus;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>The asymmetric-path and backend-health detectors on one shared classifier, in a real pipeline, in virtual time from <see cref="TcpFlows.T0"/>.</summary>
internal sealed class HandshakeHarness : IDisposable
{
    public HandshakeHarness(AsymmetricPathOptions? asymmetric = null, BackendHealthOptions? backends = null,
        HandshakeClassifierOptions? handshakes = null)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Classifier = new HandshakeClassifier(handshakes);
        Asymmetric = new AsymmetricPathDetector(asymmetric, Classifier);
        Backends = new BackendHealthDetector(backends, Classifier);
        Pipeline = new FlowPipeline([Asymmetric, Backends], Prometheus.Metrics.WithCustomRegistry(Registry));
        Pipeline.Findings.Subscribe(Findings.Add);
        Pipeline.Start(T0);
        Classifier.Handshakes.Subscribe(Handshakes.Add);
    }

    public CollectorRegistry Registry { get; }
    public HandshakeClassifier Classifier { get; }
    public AsymmetricPathDetector Asymmetric { get; }
    public BackendHealthDetector Backends { get; }
    public FlowPipeline Pipeline { get; }
    public List<Finding> Findings { get; } = [];
    public List<ClassifiedHandshake> Handshakes { get; } = [];

    public static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    public void Push(FlowRecord flow) => Pipeline.Process(flow);

    public void Apply(ClusterEvent change) => Pipeline.Apply(change);

    public void AdvanceTo(double seconds) => Pipeline.AdvanceTo(At(seconds));

    /// <summary>SYN in, SYN-ACK out, ACK and data in.</summary>
    public void Completed(double t, Side client, Side server, ServiceRef service = default)
    {
        Push(FromClient(At(t), client, server, Syn, service: service));
        Push(FromServer(At(t + 0.001), client, server, SynAck, service: service));
        Push(FromClient(At(t + 0.002), client, server, Ack, service: service));
        Push(FromClient(At(t + 0.003), client, server, PshAck, service: service));
    }

    /// <summary>SYN in, SYN-ACK out, the same SYN again after 1 s and 3 s (each answered), never an ACK.</summary>
    public void ReplyLost(double t, Side client, Side server)
    {
        foreach (var retry in new[] { 0.0, 1.0, 3.0 })
        {
            Push(FromClient(At(t + retry), client, server, Syn));
            Push(FromServer(At(t + retry + 0.001), client, server, SynAck));
        }
    }

    public void Refused(double t, Side client, Side server, ServiceRef service = default)
    {
        Push(FromClient(At(t), client, server, Syn, service: service));
        Push(FromServer(At(t + 0.001), client, server, RstAck, service: service));
    }

    public double Metric(string name, params (string, string)[] labels) => MetricText.Value(Registry, name, labels) ?? double.NaN;

    public Finding? Latest(string id) => Findings.LastOrDefault(f => f.Id == id);

    public void Dispose() => Pipeline.Dispose();

    /// <summary>Collects the flows of handshake shapes instead of pushing them, for traffic whose handshakes overlap in time.</summary>
    public sealed class Recorder(List<FlowRecord> into)
    {
        public void Completed(double t, Side client, Side server)
        {
            into.Add(FromClient(At(t), client, server, Syn));
            into.Add(FromServer(At(t + 0.001), client, server, SynAck));
            into.Add(FromClient(At(t + 0.002), client, server, Ack));
            into.Add(FromClient(At(t + 0.003), client, server, PshAck));
        }

        /// <summary>The SYN is delivered into the pod, which never answers; the client retransmits after 1 s and 3 s.</summary>
        public void Unanswered(double t, Side client, Side server)
        {
            foreach (var retry in new[] { 0.0, 1.0, 3.0 }) into.Add(FromClient(At(t + retry), client, server, Syn));
        }
    }
}
