using FlowWatch.Tests.Api;

namespace FlowWatch.Tests.Cli;

/// <summary>Bad flags of watch, demo and replay fail at start (exit 1) with one line naming the flag and the fix; nothing starts.</summary>
public sealed class BadConfigurationTests : IClassFixture<BadConfigurationTests.Files>
{
    /// <summary>A plain (non-PEM, non-directory) file, shared by the cases.</summary>
    public sealed class Files : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("flowwatch-badcfg-").FullName;
        public string Plain => Path.Combine(Dir, "plain.txt");
        public string Empty => Path.Combine(Dir, "empty-token");
        public Files()
        {
            File.WriteAllText(Plain, "not a certificate\n");
            File.WriteAllText(Empty, "\n");
        }
        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    private readonly Files _files;
    public BadConfigurationTests(Files files) => _files = files;

    private const string Hubble = "--hubble=127.0.0.1:1";

    /// <summary>Command line (PLAIN, EMPTY and DIR stand for the fixture's files), the flag the message must name, and a word of the fix.</summary>
    public static TheoryData<string, string, string> Cases => new()
    {
        { $"watch", "--hubble", "for example" },
        { $"watch --hubble=bogus://relay", "--hubble", "host:port" },
        { $"watch {Hubble} --idle-timeout=10x", "--idle-timeout", "such as" },
        { $"watch {Hubble} --idle-timeout=0s", "--idle-timeout", "such as" },
        { $"watch {Hubble} --listen=nonsense", "--listen", "for example" },
        { $"watch {Hubble} --listen=127.0.0.1:70000", "--listen", "for example" },
        { $"watch --hubble=https://relay:443 --tls-ca=DIR/absent.crt", "--tls-ca", "check the path" },
        { $"watch {Hubble} --api-token-file=DIR/absent", "--api-token-file", "mount the Secret" },
        { $"watch {Hubble} --api-token-file=EMPTY", "--api-token-file", "put the token in it" },
        { $"watch {Hubble} --listen-tls-cert=PLAIN", "--listen-tls-key", "give both" },
        { $"watch {Hubble} --listen-tls-cert=PLAIN --listen-tls-key=PLAIN", "--listen-tls-cert", "give a certificate" },
        { $"watch {Hubble} --protect-metrics", "--protect-metrics", "add --api-token-file" },
        { $"watch {Hubble} --checkpoint=PLAIN/sub/checkpoint.json", "--checkpoint", "writable volume" },
        { $"watch {Hubble} --checkpoint-every=10ms", "--checkpoint-every", "at least" },
        { $"demo --scenario=bogus", "--scenario", "known scenarios" },
        { $"demo --rate=-5", "--rate", "between" },
        { $"demo --nodes=0", "--nodes", "between" },
        { $"demo --listen=:99999", "--listen", "for example" },
        { $"demo --progress=soon", "--progress", "such as" },
        { $"demo --checkpoint-every=-1s", "--checkpoint-every", "such as" },
        { $"replay DIR/absent.jsonl", "absent.jsonl", "hubble observe" },
        { $"replay DIR", "is a directory", "give the recording files" },
        { $"replay PLAIN --drain=-1s", "--drain", "such as" },
        { $"replay PLAIN --format=xml", "--format", "text or json" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadFlag_Exits1_NamingTheFlagAndTheFix(string commandLine, string names, string fix)
    {
        var argv = commandLine.Split(' ')
            .Select(a => a.Replace("PLAIN", _files.Plain).Replace("EMPTY", _files.Empty).Replace("DIR", _files.Dir)).ToArray();
        var r = await CliRun.RunAsync(argv);
        Assert.True(r.ExitCode == 1, $"exit code {r.ExitCode}; stderr: {r.Stderr}");
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"flowwatch {argv[0]}: ", line);
        Assert.Contains(names, line);
        Assert.Contains(fix, line);
        Assert.DoesNotContain("   at ", r.Stderr); // no stack trace
        Assert.Equal("", r.Stdout); // failed before anything started or printed
    }
}
