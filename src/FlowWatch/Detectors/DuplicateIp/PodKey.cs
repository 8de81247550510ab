namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>A pod by namespace and name (not identity: two pods can share an identity).</summary>
public readonly record struct PodKey(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}
