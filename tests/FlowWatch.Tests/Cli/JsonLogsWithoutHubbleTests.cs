using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FlowWatch.Tests.Alerting;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>--log-format json while Hubble is unreachable: the event-time lag is unknown then, and the progress records
/// must say so in valid JSON (a NaN once made the JSON formatter throw and the process abort with 134).</summary>
public sealed class JsonLogsWithoutHubbleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ProgressRecords_WhileHubbleIsDown_AreValidJson_AndTheWatcherKeepsRunning()
    {
        var hubblePort = ClosedLoopbackPort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { DemoProcess.CliAssembly, "watch", "--hubble", $"127.0.0.1:{hubblePort}", "--listen", "127.0.0.1:0",
                     "--log-format", "json", "--progress", "200ms" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var all = new StringBuilder();
        var progressRecords = 0;
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (all)
            {
                all.AppendLine(line);
                if (line.Contains("\"flowwatch.progress\"")) progressRecords++;
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var deadline = Stopwatch.StartNew();
            while (Volatile.Read(ref progressRecords) < 5)
            {
                Assert.False(process.HasExited, $"the watcher exited with {(process.HasExited ? process.ExitCode : 0)}:\n{Text()}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), $"fewer than 5 progress records within 90 s:\n{Text()}");
                await Task.Delay(100);
            }
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            var text = Text();
            output.WriteLine(text);
            var sawUnknownLag = false;
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var record = JsonDocument.Parse(line);
                if (record.RootElement.GetProperty("Category").GetString() != "flowwatch.progress") continue;
                // Nothing has streamed, so no lag can be known: said so, never a made-up number.
                Assert.Equal("unknown", record.RootElement.GetProperty("State").GetProperty("Lag").GetString());
                sawUnknownLag = true;
            }
            Assert.True(sawUnknownLag, text);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        string Text() { lock (all) return all.ToString(); }
    }

    /// <summary>A loopback port with nothing listening (bound, then released).</summary>
    private static int ClosedLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
