using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Something that keeps flows as they pass (the recent-flow store). Must not block.</summary>
public interface IFlowSink
{
    void Add(FlowRecord flow);
}
