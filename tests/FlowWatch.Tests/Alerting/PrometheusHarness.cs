using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace FlowWatch.Tests.Alerting;

/// <summary>A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1, scraping one target every second with
/// the given rule files loaded and evaluated every second; killed and its temp directory deleted on dispose.</summary>
/// <remarks>
/// Start it with <see cref="StartAsync"/>, which returns once /-/ready answers (or throws with Prometheus' own log
/// after cleaning up). The scrape job is named <c>flowwatch</c>, as the ServiceMonitor in deploy/ names it, so
/// FlowWatchDown's job matcher holds. Waits poll the HTTP API with a timeout; a timeout fails with what was seen.
/// </remarks>
public sealed class PrometheusHarness : IAsyncDisposable
{
    private const int LogLines = 200;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly Queue<string> _log = new();
    private readonly HttpClient _http;
    private int _disposed;

    private PrometheusHarness(Process process, DirectoryInfo dir, Uri address)
    {
        _process = process;
        _dir = dir;
        Address = address;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>http://127.0.0.1:PORT/ of this Prometheus.</summary>
    public Uri Address { get; }

    /// <summary>The directory holding prometheus.yml and the TSDB (deleted on dispose).</summary>
    public string WorkingDirectory => _dir.FullName;

    /// <summary>The last lines Prometheus logged, for failure messages.</summary>
    public string RecentLog
    {
        get { lock (_log) return string.Join("\n", _log); }
    }

    /// <summary>Starts Prometheus scraping <paramref name="target"/> (e.g. http://127.0.0.1:5000/metrics) every
    /// <paramref name="scrapeInterval"/> (default 1 s) with <paramref name="ruleFiles"/> loaded.</summary>
    /// <param name="targetLabels">Labels the scrape config puts on the target (e.g. cluster). The job honours the
    /// exporter's labels, so a label FlowWatch sets itself wins over the target's, as deploy/ and the README advise.</param>
    public static Task<PrometheusHarness> StartAsync(
        Uri target, IEnumerable<string> ruleFiles, TimeSpan? scrapeInterval = null, TimeSpan? readyTimeout = null, CancellationToken ct = default,
        IReadOnlyDictionary<string, string>? targetLabels = null) =>
        StartAsync([target], ruleFiles, scrapeInterval, readyTimeout, ct, targetLabels);

    /// <summary>As above, scraping every one of <paramref name="targets"/> (same scheme and path) in the one job <c>flowwatch</c>.</summary>
    public static async Task<PrometheusHarness> StartAsync(
        IReadOnlyList<Uri> targets, IEnumerable<string> ruleFiles, TimeSpan? scrapeInterval = null, TimeSpan? readyTimeout = null, CancellationToken ct = default,
        IReadOnlyDictionary<string, string>? targetLabels = null)
    {
        var binary = PrometheusTools.Prometheus;
        var rules = ruleFiles.Select(Path.GetFullPath).ToList();
        var interval = scrapeInterval ?? TimeSpan.FromSeconds(1);
        Exception? last = null;
        // The free port is found by binding and releasing it; another process can take it in between, so retry.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var dir = Directory.CreateTempSubdirectory("flowwatch-prometheus-");
            var port = FreeLoopbackPort();
            var config = Path.Combine(dir.FullName, "prometheus.yml");
            await File.WriteAllTextAsync(config, Config(targets, rules, interval, targetLabels), ct);
            var psi = new ProcessStartInfo(binary)
            {
                WorkingDirectory = dir.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
                     {
                         $"--config.file={config}",
                         $"--storage.tsdb.path={Path.Combine(dir.FullName, "data")}",
                         $"--web.listen-address=127.0.0.1:{port}",
                         "--storage.tsdb.retention.time=1h",
                         "--log.level=info",
                     })
                psi.ArgumentList.Add(arg);
            Process process;
            try
            {
                process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + binary);
            }
            catch
            {
                dir.Delete(recursive: true);
                throw;
            }
            var harness = new PrometheusHarness(process, dir, new Uri($"http://127.0.0.1:{port}/"));
            process.OutputDataReceived += (_, e) => harness.Log(e.Data);
            process.ErrorDataReceived += (_, e) => harness.Log(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await harness.WaitReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(30), ct);
                return harness;
            }
            catch (Exception e)
            {
                await harness.DisposeAsync();
                last = e;
                if (e is OperationCanceledException || !harness.RecentLog.Contains("address already in use", StringComparison.Ordinal)) throw;
            }
        }
        throw last!;
    }

    /// <summary>Instant query; returns data.result (an array for vectors). Throws with Prometheus' error on a bad query.</summary>
    public async Task<JsonElement> QueryAsync(string promql, CancellationToken ct = default)
    {
        var data = await GetDataAsync("api/v1/query?query=" + Uri.EscapeDataString(promql), ct);
        return data.GetProperty("result").Clone();
    }

    /// <summary>Series matching a selector (what Grafana's label_values asks for).</summary>
    public async Task<JsonElement> SeriesAsync(string selector, CancellationToken ct = default) =>
        (await GetDataAsync("api/v1/series?match[]=" + Uri.EscapeDataString(selector), ct)).Clone();

    /// <summary>Every pending or firing alert.</summary>
    public async Task<IReadOnlyList<PrometheusAlert>> AlertsAsync(CancellationToken ct = default)
    {
        var data = await GetDataAsync("api/v1/alerts", ct);
        return data.GetProperty("alerts").EnumerateArray().Select(a =>
        {
            var labels = Strings(a.GetProperty("labels"));
            return new PrometheusAlert(labels.GetValueOrDefault("alertname", ""), a.GetProperty("state").GetString() ?? "",
                labels, Strings(a.GetProperty("annotations")), a.TryGetProperty("value", out var v) ? v.GetString() ?? "" : "");
        }).ToList();
    }

    /// <summary>The alerting and recording rules Prometheus loaded: name, type, last evaluation time and error.</summary>
    public async Task<IReadOnlyList<LoadedRule>> RulesAsync(CancellationToken ct = default)
    {
        var data = await GetDataAsync("api/v1/rules", ct);
        var rules = new List<LoadedRule>();
        foreach (var group in data.GetProperty("groups").EnumerateArray())
            foreach (var rule in group.GetProperty("rules").EnumerateArray())
                rules.Add(new LoadedRule(rule.GetProperty("name").GetString()!, rule.GetProperty("type").GetString()!,
                    rule.TryGetProperty("lastEvaluation", out var at) && at.TryGetDateTimeOffset(out var t) ? t : null,
                    rule.TryGetProperty("lastError", out var err) && err.GetString() is { Length: > 0 } e ? e : null));
        return rules;
    }

    /// <summary>Polls until every loaded rule has been evaluated after <paramref name="after"/>; returns them.</summary>
    public async Task<IReadOnlyList<LoadedRule>> WaitForRulesEvaluatedAfterAsync(DateTimeOffset after, TimeSpan timeout, CancellationToken ct = default)
    {
        IReadOnlyList<LoadedRule> seen = [];
        var done = await WaitUntilAsync(async () =>
        {
            seen = await RulesAsync(ct);
            return seen.Count > 0 && seen.All(r => r.LastEvaluation > after) ? seen : null;
        }, timeout, ct);
        return done ?? throw new TimeoutException(
            $"rules not all evaluated after {after:O} within {timeout.TotalSeconds:0} s: {string.Join(", ", seen.Select(r => $"{r.Name}@{r.LastEvaluation:O}"))}");
    }

    /// <summary>Polls until an alert named <paramref name="alertName"/> matches <paramref name="match"/>; fails with the alerts seen.</summary>
    public async Task<PrometheusAlert> WaitForAlertAsync(string alertName, Func<PrometheusAlert, bool> match, TimeSpan timeout, CancellationToken ct = default)
    {
        IReadOnlyList<PrometheusAlert> seen = [];
        var found = await WaitUntilAsync(async () =>
        {
            seen = await AlertsAsync(ct);
            return seen.FirstOrDefault(a => a.Name == alertName && match(a));
        }, timeout, ct);
        return found ?? throw new TimeoutException(
            $"alert {alertName} not seen in the wanted state within {timeout.TotalSeconds:0} s; active alerts: [{string.Join("; ", seen)}]\n" +
            $"Prometheus log:\n{RecentLog}");
    }

    /// <summary>Polls until no alert named <paramref name="alertName"/> is pending or firing.</summary>
    public async Task WaitForAlertGoneAsync(string alertName, TimeSpan timeout, CancellationToken ct = default)
    {
        IReadOnlyList<PrometheusAlert> seen = [];
        var gone = await WaitUntilAsync(async () =>
        {
            seen = await AlertsAsync(ct);
            return seen.Any(a => a.Name == alertName) ? null : (object)true;
        }, timeout, ct);
        if (gone is null)
            throw new TimeoutException($"alert {alertName} still active after {timeout.TotalSeconds:0} s: [{string.Join("; ", seen)}]");
    }

    /// <summary>Polls until the query returns at least one sample; returns the result.</summary>
    public async Task<JsonElement> WaitForSamplesAsync(string promql, TimeSpan timeout, CancellationToken ct = default)
    {
        var result = await WaitUntilAsync(async () =>
        {
            var r = await QueryAsync(promql, ct);
            return r.GetArrayLength() > 0 ? (JsonElement?)r : null;
        }, timeout, ct);
        return result ?? throw new TimeoutException($"'{promql}' returned nothing within {timeout.TotalSeconds:0} s\nPrometheus log:\n{RecentLog}");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _process.WaitForExitAsync(wait.Token); } catch (OperationCanceledException) { }
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        _process.Dispose();
        for (var attempt = 0; attempt < 3 && _dir.Exists; attempt++)
        {
            try { _dir.Delete(recursive: true); }
            catch (IOException) { await Task.Delay(200); }
            _dir.Refresh();
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
                throw new InvalidOperationException($"prometheus exited with code {_process.ExitCode} before it was ready:\n{RecentLog}");
            try
            {
                using var response = await _http.GetAsync("-/ready", ct);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(PollInterval, ct);
        }
        throw new TimeoutException($"prometheus not ready within {timeout.TotalSeconds:0} s:\n{RecentLog}");
    }

    private async Task<T?> WaitUntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"prometheus exited with code {_process.ExitCode}:\n{RecentLog}");
            var value = await probe();
            if (value is not null || clock.Elapsed >= timeout) return value;
            await Task.Delay(PollInterval, ct);
        }
    }

    private async Task<JsonElement> GetDataAsync(string relative, CancellationToken ct)
    {
        using var response = await _http.GetAsync(relative, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        if (root.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"GET {relative} failed ({(int)response.StatusCode}): {body}");
        return root.GetProperty("data").Clone();
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > LogLines) _log.Dequeue();
        }
    }

    private static Dictionary<string, string> Strings(JsonElement obj) =>
        obj.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);

    private static string Config(IReadOnlyList<Uri> targets, IReadOnlyList<string> rules, TimeSpan interval, IReadOnlyDictionary<string, string>? targetLabels)
    {
        var target = targets[0];
        var seconds = $"{Math.Max(1, (int)interval.TotalSeconds)}s";
        var sb = new StringBuilder();
        sb.Append("global:\n");
        sb.Append($"  scrape_interval: {seconds}\n  scrape_timeout: {seconds}\n  evaluation_interval: 1s\n");
        sb.Append(rules.Count == 0 ? "rule_files: []\n" : "rule_files:\n");
        foreach (var r in rules) sb.Append("  - ").Append(Quote(r)).Append('\n');
        sb.Append("scrape_configs:\n  - job_name: flowwatch\n    honor_labels: true\n");
        sb.Append($"    scheme: {target.Scheme}\n    metrics_path: {Quote(target.AbsolutePath)}\n");
        sb.Append($"    static_configs:\n      - targets: [{string.Join(", ", targets.Select(t => Quote(t.Authority)))}]\n");
        if (targetLabels is { Count: > 0 })
            sb.Append("        labels: {").Append(string.Join(", ", targetLabels.Select(l => $"{l.Key}: {Quote(l.Value)}"))).Append("}\n");
        return sb.ToString();
    }

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
