using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Something that keeps flows as they pass (the recent-flow store). Must not block.</summary>
public interface IFlowSink
{
    void Add(FlowRecord flow);

    /// <summary>True when the sink may hold a record (not just copies of its fields) after <see cref="Add"/> returns.</summary>
    /// <remarks>The safe default: while any sink or detector says so, the pipeline hands no record back to its
    /// <see cref="FlowRecordPool"/>, because a reused record would change under the holder's feet.</remarks>
    bool KeepsRecords => true;
}
