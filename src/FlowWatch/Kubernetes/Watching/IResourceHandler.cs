namespace FlowWatch.Kubernetes.Watching;

/// <summary>Where a watcher delivers what it learns about one resource kind.</summary>
/// <remarks>
/// A full list arrives in pieces (pages of a paged list, or the initial events of a watch-list stream) so that no
/// step holds a whole cluster's objects: <see cref="BeginReplace"/>, any number of <see cref="ReplacePage"/>, then
/// <see cref="EndReplace"/>, which removes everything no page named (deleted while the watch was away). A list that
/// restarts calls <see cref="BeginReplace"/> again and what the abandoned attempt named no longer counts.
/// </remarks>
public interface IResourceHandler<in T>
{
    void BeginReplace();
    void ReplacePage(IEnumerable<T> items);
    void EndReplace();
    void Upsert(T item);
    void Delete(T item);
    int Count { get; }
}
