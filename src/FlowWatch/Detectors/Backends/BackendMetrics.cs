using FlowWatch.Detectors.Handshakes;
using Prometheus;

namespace FlowWatch.Detectors.Backends;

/// <summary>The backend-health metrics; each backend holds its own cached children, removed with it.</summary>
internal sealed class BackendMetrics
{
    private readonly Gauge _health;
    private readonly Counter _handshakes;
    private readonly Counter _evictions;

    public BackendMetrics(IMetricFactory factory)
    {
        _health = factory.CreateGauge("flowwatch_backend_health",
            "Health of each backend pod of a NodePort/LoadBalancer service: 1 healthy, 0.5 degraded, 0 unhealthy, -1 idle.",
            new GaugeConfiguration { LabelNames = ["namespace", "service", "pod"] });
        _handshakes = factory.CreateCounter("flowwatch_backend_handshakes_total",
            "TCP handshakes to each backend pod of a NodePort/LoadBalancer service, by outcome.",
            new CounterConfiguration { LabelNames = ["namespace", "service", "pod", "outcome"] });
        _evictions = factory.CreateCounter("flowwatch_backend_evictions_total",
            "Backends dropped from tracking (reason bound: too many backends; expired: learned from flows and quiet).",
            new CounterConfiguration { LabelNames = ["reason"] });
        _evictions.WithLabels("bound");
        _evictions.WithLabels("expired");
    }

    public void Attach(BackendEntry b)
    {
        var svc = b.Service;
        b.HealthGauge = _health.WithLabels(svc.Namespace, svc.Name, b.Pod);
        b.HealthGauge.Set(-1);
        b.HandshakeCounters = new Counter.Child[HandshakeOutcomes.Count];
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            b.HandshakeCounters[i] = _handshakes.WithLabels(svc.Namespace, svc.Name, b.Pod, HandshakeOutcomes.AllNames[i]);
    }

    public static void Detach(BackendEntry b)
    {
        b.HealthGauge?.Remove();
        if (b.HandshakeCounters is not null) foreach (var c in b.HandshakeCounters) c.Remove();
    }

    public void Evicted(string reason) => _evictions.WithLabels(reason).Inc();
}
