using System.Reactive.Linq;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>Cluster state changes are never shed by the intake, however far past its flow capacity they queue up.</summary>
public sealed class ClusterEventIntakeTests
{
    private sealed class ClusterCounter : IDetector
    {
        public int Seen;
        public string Name => "cluster-counter";
        public IObservable<Finding> Attach(DetectorContext context)
        {
            context.Cluster.Subscribe(_ => Seen++);
            return Observable.Empty<Finding>();
        }
        public void Dispose() { }
    }

    [Fact]
    public async Task ClusterEvents_BeyondTheCapacity_AreAllApplied_InOrderWithNothingShed()
    {
        var counter = new ClusterCounter();
        using var pipeline = new FlowPipeline([counter], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var intake = new FlowIntake(pipeline, capacity: 4);
        for (var i = 0; i < 1000; i++) intake.Write(new CiliumAgentState($"node-{i}", DateTimeOffset.UnixEpoch));
        Assert.Equal(1000, intake.ClusterDepth);
        intake.Complete();
        await intake.PumpAsync(live: false, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1000, counter.Seen);
        Assert.Equal(0, intake.ClusterDepth);
        Assert.Equal(0, intake.Shed);
    }
}
