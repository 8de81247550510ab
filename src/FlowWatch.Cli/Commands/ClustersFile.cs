using FlowWatch.Cli.CommandLine;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FlowWatch.Cli.Commands;

/// <summary>A small list of FlowWatch servers in the spirit of a kubeconfig, each with its own token and CA, for
/// <c>--clusters-file</c>:</summary>
/// <example>
/// servers:
///   - name: prod-eu
///     url: https://flowwatch.prod-eu.example.com:9090
///     token-file: tokens/prod-eu      # relative paths are read from the file's own directory
///     ca-file: ca/prod-eu.pem
///   - name: staging
///     url: http://127.0.0.1:9091
/// </example>
public static class ClustersFile
{
    /// <summary>A clusters file larger than this is not a list of servers.</summary>
    private const long MaxBytes = 1 << 20;

    private sealed class FileModel
    {
        public List<ServerModel>? Servers { get; set; }
    }

    private sealed class ServerModel
    {
        public string? Name { get; set; }
        public string? Url { get; set; }
        public string? TokenFile { get; set; }
        public string? CaFile { get; set; }
    }

    /// <summary>The servers the file lists, as <c>NAME=URL</c> servers with their own token and CA; a usage error that
    /// names the file, the line and the fix for anything else.</summary>
    public static IReadOnlyList<NamedServer> Load(string path)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxBytes) throw new UsageException($"option '--clusters-file': {path} is {info.Length:N0} bytes, over the {MaxBytes:N0}-byte limit.");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"option '--clusters-file': cannot read {path} ({e.GetType().Name}).");
        }
        FileModel? model;
        try
        {
            model = new DeserializerBuilder().WithNamingConvention(HyphenatedNamingConvention.Instance).Build().Deserialize<FileModel>(text);
        }
        catch (YamlException e)
        {
            var why = (e.InnerException?.Message ?? e.Message).Split('\n')[0];
            // YamlDotNet names the model's type; the reader wants the key it did not expect.
            if (System.Text.RegularExpressions.Regex.Match(why, "Property '([^']+)' not found") is { Success: true } unknown)
                why = $"unknown key '{unknown.Groups[1].Value}'";
            throw new UsageException($"option '--clusters-file': {path} line {e.Start.Line}: {why} (expected servers: [{{name, url, token-file, ca-file}}, ...]).");
        }
        if (model?.Servers is not { Count: > 0 } servers)
            throw new UsageException($"option '--clusters-file': {path} lists no servers (expected servers: [{{name, url, token-file, ca-file}}, ...]).");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return servers.Select((s, i) =>
        {
            if (string.IsNullOrWhiteSpace(s.Name) || string.IsNullOrWhiteSpace(s.Url))
                throw new UsageException($"option '--clusters-file': server {i + 1} in {path} needs both a name and a url.");
            return new NamedServer(s.Name, s.Url, Resolve(dir, s.TokenFile), Resolve(dir, s.CaFile));
        }).ToList();
    }

    private static string? Resolve(string dir, string? file) => string.IsNullOrWhiteSpace(file) ? null : Path.GetFullPath(file, dir);
}
