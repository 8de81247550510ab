namespace FlowWatch.Hubble.Filtering;

/// <summary>A FlowFilter that cannot be applied as Hubble would: which field, and why (a bad value or a field this build does not know).</summary>
public sealed class FlowFilterException(string field, string message) : Exception(message)
{
    /// <summary>The FlowFilter field's proto name (e.g. "http_status_code"), or "field N" for an unknown field number.</summary>
    public string Field { get; } = field;
}
