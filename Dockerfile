# The operator image: built with the .NET SDK, run on a chiseled (distroless: no shell, no
# package manager) ASP.NET Core runtime, since the operator serves /healthz, /readyz and /metrics
# through ASP.NET Core (Microsoft.NET.Sdk.Web).
#   docker build -t resilience-operator .
# Multi-arch (what .github/workflows/release.yaml does): the SDK stage runs on the build machine's
# own platform and cross-publishes for each target architecture, no emulation of the compiler:
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/OWNER/resilience-operator:0.1.0 .

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# amd64 or arm64, set by BuildKit from the target platform; the SDK maps it to x64 / arm64.
ARG TARGETARCH
WORKDIR /src
# Restore first, from the project files alone, so the package layer is reused while only
# sources change.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Entities/Entities.csproj src/Entities/
COPY src/Operator/Operator.csproj src/Operator/
RUN dotnet restore -a $TARGETARCH src/Operator/Operator.csproj
COPY src/Entities/ src/Entities/
COPY src/Operator/ src/Operator/
# Not ReadyToRun: measured twice, it did not make the caches sync sooner with 1,000 policies and
# it added 8 MiB of resident memory (docs/benchmarks.md).
RUN dotnet publish src/Operator/Operator.csproj -c Release -a $TARGETARCH -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
# The release workflow adds org.opencontainers.image.version, .revision and .created.
LABEL org.opencontainers.image.title="resilience-operator" \
      org.opencontainers.image.description="Kubernetes operator for ResiliencePolicies: health checks, failover, backups, restores and drills" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /app ./
# No diagnostics IPC socket or perf map in /tmp: the pod runs with a read-only root filesystem.
# The listen address comes from --port / --bind-address, not from the image's default HTTP port.
# The memory settings, measured with bench-scale (docs/benchmarks.md), which starts the operator
# with this block's DOTNET_ and MALLOC_ settings:
# - a small gen0 budget (the runtime reads it from the environment only): with workstation GC
#   (Operator.csproj) 16 MiB rested at 246 MiB instead of 339 MiB with 1,000 policies; 8 MiB,
#   with MALLOC_ARENA_MAX=2 (glibc's native heap in two arenas, not one per thread), at 180 MiB
#   instead of 186 MiB;
# - GCConserveMemory=7: a blocking, compacting collection once the old generation and the large
#   object heap are more than 30% free space; at 10,000 policies the GC otherwise kept about
#   150 MiB of it after the start;
# - TieredPGO=0: no instrumented extra copy of the hot methods' code: 173 MiB instead of 180 MiB
#   with 1,000 policies (the JIT's double-mapped code), caches synced and probe lag the same.
ENV DOTNET_EnableDiagnostics=0 \
    DOTNET_GCgen0size=0x800000 \
    DOTNET_GCConserveMemory=7 \
    DOTNET_TieredPGO=0 \
    MALLOC_ARENA_MAX=2 \
    ASPNETCORE_HTTP_PORTS=
# /healthz, /readyz and /metrics.
EXPOSE 8080
# The same non-root user the Helm chart's restricted securityContext sets.
USER 10001:10001
# Exec form: the chiseled image has no shell.
ENTRYPOINT ["dotnet", "/app/ResilienceOperator.dll"]
