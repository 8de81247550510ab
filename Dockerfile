# FlowWatch: build with the SDK, run on the ASP.NET runtime as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props FlowWatch.sln ./
COPY protos/ protos/
COPY src/ src/
RUN dotnet publish src/FlowWatch.Cli/FlowWatch.Cli.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's built-in unprivileged user (uid 1654); the Deployment also sets runAsNonRoot.
USER $APP_UID
EXPOSE 9090
# Any command runs (`docker run IMAGE replay /data/rec.jsonl`, `... flows --server ...`); with none, it watches the
# in-cluster Relay. The Deployment in deploy/ passes its own arguments, `watch` first.
ENTRYPOINT ["dotnet", "/app/FlowWatch.Cli.dll"]
CMD ["watch", "--hubble", "hubble-relay.kube-system.svc.cluster.local:80", "--listen", "0.0.0.0:9090"]
