using System.Globalization;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// A live simulator (all scenarios) on 127.0.0.1 and a frozen view of it for the real hubble CLI: every flow up to
/// <see cref="Until"/>, fetched once unfiltered as jsonpb (<see cref="AllFile"/>), so each filtered answer of the
/// simulator can be compared with <c>hubble observe --input-file</c> applied to the same flows.
/// </summary>
/// <remarks>
/// Without since or number Hubble reads from the oldest entry and stops at the first flow after until, whatever the
/// filter, so "--all --until T" names the same stretch of the ring in every query while the generator keeps writing.
/// The ring (2^20 entries at 400 flows/s) holds that stretch for 40 minutes, however slowly a loaded machine runs the tests.
/// </remarks>
public sealed class SimulatorSnapshot : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _taken;

    public SimulatorHost Host { get; } = new(new SimulatorOptions
    {
        Listen = "127.0.0.1:0", Nodes = 5, FlowsPerSecond = 400, BufferSize = 1 << 20, Scenarios = ScenarioSet.All, Seed = 7,
    });

    public string Server => $"127.0.0.1:{Host.EndPoint!.Port}";
    public string Until { get; private set; } = "";
    public string AllFile { get; } = Path.Combine(Path.GetTempPath(), $"flowwatch-conformance-{Guid.NewGuid():N}.jsonl");
    public CliResult All { get; private set; } = new(0, "", "");

    public async Task InitializeAsync() => await Host.StartAsync();

    /// <summary>Takes the unfiltered snapshot once (the first test that needs it; after its shared-bin check).</summary>
    public async Task EnsureAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_taken) return;
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await Host.Ring.WaitForAsync(3_000, deadline.Token);
            // Two seconds behind the newest flow, so that no flow of an open conversation lands before until later.
            var newest = Host.Ring.Next - 1;
            var entries = new List<FlowRing.Entry>();
            Host.Ring.Read(newest, entries, 1);
            var until = DateTimeOffset.UnixEpoch.AddTicks(entries[0].TimeNanos / 100) - TimeSpan.FromSeconds(2);
            Until = until.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
            All = (await HubbleCli.RunAsync("observe", "--server", Server, "--all", "--until", Until, "-o", "jsonpb")).Ok();
            await File.WriteAllTextAsync(AllFile, All.Stdout);
            _taken = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        File.Delete(AllFile);
    }
}
