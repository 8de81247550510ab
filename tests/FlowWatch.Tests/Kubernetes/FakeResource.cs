using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Kube;

/// <summary>One resource collection of <see cref="FakeApiServer"/>: its objects, its event history, its open watches, and its paged lists.</summary>
/// <remarks>
/// Objects are kept as their JSON bytes (so a 100,000-pod cluster fits in the benchmark's server process) in key
/// order, as etcd lists them. A paged list is served from a snapshot taken at the list's resourceVersion, so
/// its pages are consistent, as the real API server's are; <see cref="Compact"/> forgets history, after which a
/// continue token from before the compaction answers 410 Expired and a watch from before it gets an ERROR 410.
/// </remarks>
internal sealed partial class FakeResource(FakeApiServer server, string apiVersion, string listKind)
{
    public const string InitialEventsEnd = "k8s.io/initial-events-end";
    private const int MaxSnapshots = 8;

    private readonly object _gate = new();
    private readonly SortedDictionary<string, byte[]> _items = new(StringComparer.Ordinal);
    private readonly List<(long Rv, string Type, byte[] Json)> _history = [];
    private readonly List<OpenWatch> _watches = [];
    private readonly Dictionary<long, KeyValuePair<string, byte[]>[]> _snapshots = [];
    private long _compactedBelow;

    public string ApiVersion => apiVersion;
    public string ListKind => listKind;

    /// <summary>Lists answer 404, as for a CRD that is not installed.</summary>
    public bool Absent { get; set; }

    /// <summary>Watch requests answer 500 (the API server is unreachable for watches) while set.</summary>
    public bool RefuseWatches { get; set; }

    /// <summary>False: <c>sendInitialEvents</c> answers 422 Invalid, as on a server with the WatchList feature gate off.</summary>
    public bool WatchListSupported { get; set; } = true;

    /// <summary>List requests (every page counts), watch requests, and watch-list requests served.</summary>
    public int ListRequests { get; private set; }
    public int ListsStarted { get; private set; }
    public int WatchRequests { get; private set; }
    public int WatchListRequests { get; private set; }
    public int RefusedWatchLists { get; private set; }

    public void CountRefusedWatchList() { lock (_gate) RefusedWatchLists++; }
    public List<string> WatchResourceVersions { get; } = [];
    /// <summary>The <c>limit</c> of every list request, and how many continue requests answered 410.</summary>
    public List<int?> ListLimits { get; } = [];
    public int ExpiredContinues { get; private set; }

    /// <summary>How many of the next list requests answer 500 (an API server that is failing or overloaded).</summary>
    public int FailLists { get; set; }

    /// <summary>Each list request (each page) answers only after this long (a slow API server, a large cluster).</summary>
    public TimeSpan ListDelay { get; set; }

    /// <summary>Called with the page's number (1 for the first) after a page is cut and before it is sent; tests change the collection here.</summary>
    public Action<int>? AfterPage { get; set; }

    /// <summary>Counts a request that failed before it was served.</summary>
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

    public int OpenWatches { get { lock (_gate) return _watches.Count; } }

    public int Count { get { lock (_gate) return _items.Count; } }

    public void Put<T>(T item) where T : IKubernetesObject<V1ObjectMeta>
    {
        lock (_gate)
        {
            var rv = server.NextResourceVersion();
            item.Metadata.ResourceVersion = rv.ToString();
            var json = Encoding.UTF8.GetBytes(KubernetesJson.Serialize(item));
            var key = Key(item.Metadata.NamespaceProperty, item.Metadata.Name);
            var type = _items.ContainsKey(key) ? "MODIFIED" : "ADDED";
            _items[key] = json;
            Emit(rv, type, json);
        }
    }

    public void Delete(string? ns, string name)
    {
        lock (_gate)
        {
            var key = Key(ns, name);
            if (!_items.Remove(key, out var json)) throw new InvalidOperationException($"no {key}");
            var rv = server.NextResourceVersion();
            var node = JsonNode.Parse(json)!;
            node["metadata"]!["resourceVersion"] = rv.ToString();
            Emit(rv, "DELETED", Encoding.UTF8.GetBytes(node.ToJsonString()));
        }
    }

    /// <summary>Compacts at the current version (as etcd does): watches and continue tokens from older versions get 410; the current state stays readable.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compactedBelow = server.CurrentResourceVersion + 1;
            _history.Clear();
            foreach (var rv in _snapshots.Keys.Where(rv => rv < _compactedBelow - 1).ToList()) _snapshots.Remove(rv);
        }
    }

    /// <summary>Sends a BOOKMARK carrying the current resourceVersion to every open watch that asked for bookmarks.</summary>
    public void Bookmark()
    {
        lock (_gate)
        {
            var line = BookmarkLine(server.CurrentResourceVersion, initialEventsEnd: false);
            foreach (var w in _watches)
                if (w.Bookmarks) w.Lines.Writer.TryWrite(line);
        }
    }

    /// <summary>Sends an ERROR event with a 410 Status to every open watch, as the API server does when a watch's version expires, then closes them.</summary>
    public void ExpireWatches()
    {
        lock (_gate)
        {
            Broadcast(GoneLine(0));
            foreach (var w in _watches) w.Lines.Writer.TryComplete();
        }
    }

    /// <summary>Cuts every open watch connection mid-stream (no clean end).</summary>
    public void DropWatches()
    {
        lock (_gate)
            foreach (var w in _watches) w.Abort();
    }

    public string? Get(string ns, string name)
    {
        lock (_gate) return _items.TryGetValue(Key(ns, name), out var n) ? Encoding.UTF8.GetString(n) : null;
    }

    private void Emit(long rv, string type, byte[] json)
    {
        _history.Add((rv, type, json));
        Broadcast(Line(type, json));
    }

    private void Broadcast(string line)
    {
        foreach (var w in _watches) w.Lines.Writer.TryWrite(line);
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    private static string Line(string type, byte[] json) => $"{{\"type\":\"{type}\",\"object\":{Encoding.UTF8.GetString(json)}}}";

    private string BookmarkLine(long rv, bool initialEventsEnd)
    {
        var meta = new JsonObject { ["resourceVersion"] = rv.ToString() };
        if (initialEventsEnd) meta["annotations"] = new JsonObject { [InitialEventsEnd] = "true" };
        var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = listKind[..^4], ["metadata"] = meta };
        return new JsonObject { ["type"] = "BOOKMARK", ["object"] = obj }.ToJsonString();
    }

    private string GoneLine(long rv) => new JsonObject
    {
        ["type"] = "ERROR",
        ["object"] = FakeApiServer.StatusNode(410, "Expired",
            rv == 0 ? "too old resource version" : $"too old resource version: {rv} ({_compactedBelow - 1})"),
    }.ToJsonString();

    /// <summary>Opens a watch from <paramref name="rv"/>: the history after it, then live events; an ERROR 410 when it is too old.</summary>
    /// <remarks>With <paramref name="sendInitialEvents"/> (watch-list): an ADDED event per object, then a BOOKMARK annotated
    /// <c>k8s.io/initial-events-end</c> at the state's resourceVersion, then live events.</remarks>
    public OpenWatch OpenWatch(string? rv, bool bookmarks, bool sendInitialEvents, Action abort)
    {
        lock (_gate)
        {
            WatchRequests++;
            if (sendInitialEvents) WatchListRequests++;
            WatchResourceVersions.Add(rv ?? "");
            var watch = new OpenWatch(abort, bookmarks, w => { lock (_gate) _watches.Remove(w); });
            if (sendInitialEvents)
            {
                foreach (var (_, json) in _items) watch.Lines.Writer.TryWrite(Line("ADDED", json));
                watch.Lines.Writer.TryWrite(BookmarkLine(server.CurrentResourceVersion, initialEventsEnd: true));
                _watches.Add(watch);
                return watch;
            }
            var from = long.TryParse(rv, out var v) ? v : 0;
            if (from != 0 && from < _compactedBelow - 1)
            {
                watch.Lines.Writer.TryWrite(GoneLine(from));
                watch.Lines.Writer.TryComplete();
                return watch;
            }
            foreach (var (hrv, type, json) in _history)
                if (hrv > from) watch.Lines.Writer.TryWrite(Line(type, json));
            _watches.Add(watch);
            return watch;
        }
    }
}

/// <summary>One open watch connection of the fake API server.</summary>
internal sealed class OpenWatch(Action abort, bool bookmarks, Action<OpenWatch> remove)
{
    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();

    /// <summary>The client asked for bookmarks (<c>allowWatchBookmarks=true</c>).</summary>
    public bool Bookmarks { get; } = bookmarks;

    public void Abort()
    {
        Lines.Writer.TryComplete();
        abort();
    }

    public void Close() => remove(this);
}
