using System.Text.Json;
using System.Text.RegularExpressions;
using FlowWatch.Findings;
using FlowWatch.Pipeline;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Api;

/// <summary>Every JSON answer FlowWatch writes has one style: snake_case names, durations as <c>*_seconds</c> numbers, RFC 3339 times.</summary>
public sealed partial class JsonStyleTests(DemoServer server, ITestOutputHelper output) : IClassFixture<DemoServer>
{
    [GeneratedRegex("^[a-z][a-z0-9_]*$")] private static partial Regex SnakeCase();
    // Keys that are data rather than names: rcodes, HTTP classes, CIDRs and IPs (e.g. by_peer_range).
    [GeneratedRegex(@"^([0-9a-f.:]+(/\d+)?|\dxx)$")] private static partial Regex DataKey();
    [GeneratedRegex(@"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")] private static partial Regex LooksLikeTime();
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")] private static partial Regex Rfc3339();
    [GeneratedRegex(@"^-?(\d+\.)?\d\d:\d\d:\d\d(\.\d+)?$")] private static partial Regex TimeSpanText();

    /// <summary>Every way the style can be broken, each with the JSON path where it was.</summary>
    public static List<string> Violations(JsonElement root)
    {
        var problems = new List<string>();
        Walk(root, "$", problems);
        return problems;
    }

    private static void Walk(JsonElement e, string path, List<string> problems)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    var at = $"{path}.{p.Name}";
                    if (!SnakeCase().IsMatch(p.Name) && !DataKey().IsMatch(p.Name)) problems.Add($"{at}: name is not snake_case");
                    if (p.Name.EndsWith("_seconds", StringComparison.Ordinal) && p.Value.ValueKind != JsonValueKind.Number)
                        problems.Add($"{at}: a *_seconds field must be a number");
                    // A count may be called "timeout" (handshakes that timed out); a duration written as text may not.
                    if (p.Name is "window" or "elapsed" or "duration" or "age" or "timeout" or "interval" && p.Value.ValueKind == JsonValueKind.String)
                        problems.Add($"{at}: a duration must be named *_seconds");
                    Walk(p.Value, at, problems);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray()) Walk(item, $"{path}[{i++}]", problems);
                break;
            case JsonValueKind.String:
                var text = e.GetString()!;
                if (TimeSpanText().IsMatch(text)) problems.Add($"{path}: '{text}' is a .NET TimeSpan; write seconds");
                else if (LooksLikeTime().IsMatch(text) && !Rfc3339().IsMatch(text)) problems.Add($"{path}: '{text}' is not RFC 3339");
                break;
        }
    }

    [Fact]
    public void TheChecker_CatchesEachKindOfViolation()
    {
        using var doc = JsonDocument.Parse("""{"firstSeen":"2026-12-01T20:16:42Z","window":"00:10:00","x_seconds":"2","t":"2026-12-01 20:16:42","ok_name":1,"by":{"10.0.0.0/24":1}}""");
        var found = Violations(doc.RootElement);
        Assert.Contains(found, v => v.StartsWith("$.firstSeen: name"));
        Assert.Contains(found, v => v.StartsWith("$.window: a duration"));
        Assert.Contains(found, v => v.StartsWith("$.window: '00:10:00'"));
        Assert.Contains(found, v => v.StartsWith("$.x_seconds: a *_seconds"));
        Assert.Contains(found, v => v.StartsWith("$.t: '2026-12-01 20:16:42' is not RFC 3339"));
        Assert.Equal(5, found.Count);
    }

    [Fact]
    public async Task EveryApiAnswer_AndTheCheckpoint_HaveOneStyle()
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!server.Runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == FindingKind.BackendUnhealthy) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var paths = new List<string> { "/", "/api/v1", "/api/v1/flows?limit=200", "/api/v1/flows?verdict=dropped&limit=50", "/api/v1/findings",
            "/api/v1/findings?state=nonsense", "/api/v1/flows?bogus=1", "/api/v1/pods/shop/nosuchpod/health", "/api/v1/services/web/nosuch/backends" };
        foreach (var f in server.Runtime.Pipeline.Book.All)
        {
            if (f.Subject.Pod.Length > 0) paths.Add($"/api/v1/pods/{f.Subject.Namespace}/{f.Subject.Pod}/health");
            if (f.Subject.Service.Length > 0) paths.Add($"/api/v1/services/{f.Subject.Namespace}/{f.Subject.Service}/backends");
        }
        var drop = server.Runtime.Store.Query(new FlowWatch.Store.FlowQuery { Verdict = FlowWatch.Flows.Verdict.Dropped, Limit = 1 }).Flows[0];
        paths.Add($"/api/v1/pods/{drop.Source.Namespace}/{drop.Source.Pod}/health");
        var problems = new List<string>();
        foreach (var path in paths.Distinct())
        {
            using var response = await server.Http.GetAsync(path);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            problems.AddRange(Violations(doc.RootElement).Select(v => $"{path} {v}"));
        }
        var file = Path.Combine(Path.GetTempPath(), $"fw-style-{Guid.NewGuid():N}.json");
        try
        {
            new Checkpoint(DateTimeOffset.UtcNow, new Dictionary<string, long> { ["127.0.0.1:4245"] = 1 }, server.Runtime.Pipeline.Book.OpenFindings,
                new Dictionary<string, IReadOnlyList<string>> { ["127.0.0.1:4245"] = ["id-1"] }).Save(file);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            problems.AddRange(Violations(doc.RootElement).Select(v => $"checkpoint {v}"));
            Assert.NotEmpty(Checkpoint.Load(file)!.OpenFindings);
        }
        finally { File.Delete(file); }
        output.WriteLine($"{paths.Distinct().Count()} answers and a checkpoint checked");
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(30)));
    }
}
