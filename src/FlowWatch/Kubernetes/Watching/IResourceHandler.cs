namespace FlowWatch.Kubernetes.Watching;

/// <summary>Where a watcher delivers what it learns about one resource kind.</summary>
public interface IResourceHandler<in T>
{
    /// <summary>A full list: everything not in <paramref name="items"/> is gone (deleted while the watch was away).</summary>
    void Replace(IEnumerable<T> items);
    void Upsert(T item);
    void Delete(T item);
    int Count { get; }
}
