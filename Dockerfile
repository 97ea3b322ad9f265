# The operator image: built with the .NET SDK, run on a chiseled (distroless: no shell, no
# package manager) ASP.NET Core runtime, since the operator serves /healthz, /readyz and /metrics
# through ASP.NET Core (Microsoft.NET.Sdk.Web).
#   docker build -t ghcr.io/resilience-operator/resilience-operator:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the package layer is reused while only
# sources change.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Entities/Entities.csproj src/Entities/
COPY src/Operator/Operator.csproj src/Operator/
RUN dotnet restore src/Operator/Operator.csproj
COPY src/Entities/ src/Entities/
COPY src/Operator/ src/Operator/
RUN dotnet publish src/Operator/Operator.csproj -c Release -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
# No diagnostics IPC socket or perf map in /tmp: the pod runs with a read-only root filesystem.
# The listen address comes from --port / --bind-address, not from the image's default HTTP port.
ENV DOTNET_EnableDiagnostics=0 \
    ASPNETCORE_HTTP_PORTS=
# /healthz, /readyz and /metrics.
EXPOSE 8080
# The same non-root user the Helm chart's restricted securityContext sets.
USER 10001:10001
# Exec form: the chiseled image has no shell.
ENTRYPOINT ["dotnet", "/app/ResilienceOperator.dll"]
