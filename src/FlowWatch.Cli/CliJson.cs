using System.Text.Json;

namespace FlowWatch.Cli;

/// <summary>JSON settings for machine-readable CLI output: the API's one style (snake_case, RFC 3339 times, enums by name).</summary>
public static class CliJson
{
    public static readonly JsonSerializerOptions Options = FlowWatch.Api.ApiJson.Indented;
}
