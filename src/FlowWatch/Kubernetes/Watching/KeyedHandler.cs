using k8s;
using k8s.Models;

namespace FlowWatch.Kubernetes.Watching;

/// <summary>Tracks which objects of one kind are known (by namespace/name) and turns a full list into upserts plus deletions.</summary>
/// <remarks>Runs every change under the view's lock, so what is published follows the order the API server sent.</remarks>
internal sealed class KeyedHandler<T>(
    object gate, string resource, int max, Action<string, T> upsert, Action<string> delete, Action shed) : IResourceHandler<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private HashSet<string>? _seen;

    public string Resource { get; } = resource;

    public int Count { get { lock (gate) return _keys.Count; } }

    public static string KeyOf(T item) => Key(item.Metadata?.NamespaceProperty, item.Metadata?.Name);

    public static string Key(string? ns, string? name) => string.IsNullOrEmpty(ns) ? name ?? "" : $"{ns}/{name}";

    public void BeginReplace()
    {
        lock (gate) (_seen ??= new HashSet<string>(StringComparer.Ordinal)).Clear();
    }

    public void ReplacePage(IEnumerable<T> items)
    {
        lock (gate)
        {
            var seen = _seen ?? throw new InvalidOperationException($"{Resource}: ReplacePage before BeginReplace");
            foreach (var item in items)
            {
                var key = KeyOf(item);
                seen.Add(key);
                UpsertLocked(key, item);
            }
        }
    }

    public void EndReplace()
    {
        lock (gate)
        {
            var seen = _seen ?? throw new InvalidOperationException($"{Resource}: EndReplace before BeginReplace");
            foreach (var gone in _keys.Where(k => !seen.Contains(k)).ToList())
            {
                _keys.Remove(gone);
                delete(gone);
            }
            _seen = null;   // the keys named by the list: as many as the kind has objects, so not kept between lists
        }
    }

    public void Upsert(T item)
    {
        lock (gate) UpsertLocked(KeyOf(item), item);
    }

    public void Delete(T item)
    {
        var key = KeyOf(item);
        lock (gate)
            if (_keys.Remove(key)) delete(key);
    }

    private void UpsertLocked(string key, T item)
    {
        if (!_keys.Contains(key))
        {
            if (_keys.Count >= max) { shed(); return; }
            _keys.Add(key);
        }
        upsert(key, item);
    }
}
