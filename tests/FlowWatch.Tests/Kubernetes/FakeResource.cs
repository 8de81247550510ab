using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Kube;

/// <summary>One resource collection of <see cref="FakeApiServer"/>: its objects, its event history, and its open watches.</summary>
internal sealed class FakeResource(FakeApiServer server, string apiVersion, string listKind)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, JsonNode> _items = new(StringComparer.Ordinal);
    private readonly List<(long Rv, string Line)> _history = [];
    private readonly List<OpenWatch> _watches = [];
    private long _compactedBelow;

    /// <summary>Lists answer 404, as for a CRD that is not installed.</summary>
    public bool Absent { get; set; }

    /// <summary>Watch requests answer 500 (the API server is unreachable for watches) while set.</summary>
    public bool RefuseWatches { get; set; }

    public int ListRequests { get; private set; }

    /// <summary>How many of the next list requests answer 500 (an API server that is failing or overloaded).</summary>
    public int FailLists { get; set; }

    /// <summary>Lists answer only after this long (a slow API server, a large cluster).</summary>
    public TimeSpan ListDelay { get; set; }

    /// <summary>True when this list request must fail (counted; a served list is counted by <see cref="ListJson"/>).</summary>
    public bool TakeListFailure()
    {
        lock (_gate)
        {
            if (FailLists <= 0) return false;
            FailLists--;
            ListRequests++;
            return true;
        }
    }

    public void CountAbsentList() { lock (_gate) ListRequests++; }
    public int WatchRequests { get; private set; }
    public List<string> WatchResourceVersions { get; } = [];

    public int OpenWatches { get { lock (_gate) return _watches.Count; } }

    public void Put<T>(T item) where T : IKubernetesObject<V1ObjectMeta>
    {
        lock (_gate)
        {
            var rv = server.NextResourceVersion();
            item.Metadata.ResourceVersion = rv.ToString();
            var node = JsonNode.Parse(KubernetesJson.Serialize(item))!;
            var key = Key(item.Metadata.NamespaceProperty, item.Metadata.Name);
            var type = _items.ContainsKey(key) ? "MODIFIED" : "ADDED";
            _items[key] = node;
            Emit(rv, type, node);
        }
    }

    public void Delete(string? ns, string name)
    {
        lock (_gate)
        {
            var key = Key(ns, name);
            if (!_items.Remove(key, out var node)) throw new InvalidOperationException($"no {key}");
            var rv = server.NextResourceVersion();
            node = node.DeepClone();
            node["metadata"]!["resourceVersion"] = rv.ToString();
            Emit(rv, "DELETED", node);
        }
    }

    /// <summary>Forgets history: a watch from an older resourceVersion now gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_gate) { _compactedBelow = server.CurrentResourceVersion + 1; _history.Clear(); }
    }

    /// <summary>Sends a BOOKMARK carrying the current resourceVersion to every open watch.</summary>
    public void Bookmark()
    {
        lock (_gate)
        {
            var rv = server.CurrentResourceVersion;
            var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = listKind[..^4], ["metadata"] = new JsonObject { ["resourceVersion"] = rv.ToString() } };
            Broadcast(Line("BOOKMARK", obj));
        }
    }

    /// <summary>Sends an ERROR event with a 410 Status to every open watch, as the API server does when a watch's version expires, then closes them.</summary>
    public void ExpireWatches()
    {
        lock (_gate)
        {
            Broadcast(GoneLine());
            foreach (var w in _watches) w.Lines.Writer.TryComplete();
        }
    }

    /// <summary>Cuts every open watch connection mid-stream (no clean end).</summary>
    public void DropWatches()
    {
        lock (_gate)
            foreach (var w in _watches) w.Abort();
    }

    private void Emit(long rv, string type, JsonNode obj)
    {
        var line = Line(type, obj);
        _history.Add((rv, line));
        Broadcast(line);
    }

    private void Broadcast(string line)
    {
        foreach (var w in _watches) w.Lines.Writer.TryWrite(line);
    }

    private static string Line(string type, JsonNode obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    private static string GoneLine() => new JsonObject
    {
        ["type"] = "ERROR",
        ["object"] = new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
            ["message"] = "too old resource version", ["reason"] = "Expired", ["code"] = 410,
        },
    }.ToJsonString();

    public string? Get(string ns, string name)
    {
        lock (_gate) return _items.TryGetValue(Key(ns, name), out var n) ? n.ToJsonString() : null;
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    public string ListJson()
    {
        lock (_gate)
        {
            ListRequests++;
            var items = new JsonArray();
            foreach (var n in _items.Values) items.Add(n.DeepClone());
            return new JsonObject
            {
                ["apiVersion"] = apiVersion, ["kind"] = listKind,
                ["metadata"] = new JsonObject { ["resourceVersion"] = server.CurrentResourceVersion.ToString() },
                ["items"] = items,
            }.ToJsonString();
        }
    }

    /// <summary>Opens a watch from <paramref name="rv"/>: the history after it, then live events; or 410 when it is too old.</summary>
    public OpenWatch OpenWatch(string? rv, Action abort)
    {
        lock (_gate)
        {
            WatchRequests++;
            WatchResourceVersions.Add(rv ?? "");
            var from = long.TryParse(rv, out var v) ? v : 0;
            var watch = new OpenWatch(abort, w => { lock (_gate) _watches.Remove(w); });
            if (from != 0 && from < _compactedBelow - 1)
            {
                watch.Lines.Writer.TryWrite(GoneLine());
                watch.Lines.Writer.TryComplete();
                return watch;
            }
            foreach (var (hrv, line) in _history)
                if (hrv > from) watch.Lines.Writer.TryWrite(line);
            _watches.Add(watch);
            return watch;
        }
    }
}

/// <summary>One open watch connection of the fake API server.</summary>
internal sealed class OpenWatch(Action abort, Action<OpenWatch> remove)
{
    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();

    public void Abort()
    {
        Lines.Writer.TryComplete();
        abort();
    }

    public void Close() => remove(this);
}
