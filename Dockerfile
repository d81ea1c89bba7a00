# Multi-stage build on Debian bookworm. Build it in Docker's image format, with Docker or with
# `buildah bud --format docker` (the OCI format has no HEALTHCHECK); `make container-test` builds and runs it here.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY exporter exporter
COPY third_party third_party
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIEF_TESTS=OFF \
    && cmake --build build -j"$(nproc)" --target ief_exporter ief_simulator

FROM debian:bookworm-slim
# The run-time libraries of both binaries, and curl for the HEALTHCHECK. CivetWeb is built into the binaries
# (third_party/civetweb, with OpenSSL 3): no libcivetweb.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl libcurl4 libssl3 libcrypt1 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
      libsimdjson14 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10038 ief \
    && useradd --system --uid 10038 --gid 10038 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ief
COPY --from=build /src/build/ief_exporter /src/build/ief_simulator /usr/local/bin/
COPY --from=build /src/third_party/civetweb/LICENSE.md /usr/share/doc/ief-exporter/civetweb-LICENSE.md
# The alerts' runbook, where the shipped rules' runbook_url links point (as in the Debian package).
COPY docs/alerts.md /usr/share/doc/ief-exporter/alerts.md
# The rollout history's state (--storage.path): a volume, so it outlives the container.
RUN mkdir -p /var/lib/ief-exporter && chown 10038:10038 /var/lib/ief-exporter && chmod 0700 /var/lib/ief-exporter
VOLUME ["/var/lib/ief-exporter"]
# Numeric, so Kubernetes' runAsNonRoot can check it without looking into /etc/passwd.
USER 10038:10038
EXPOSE 10038
# Plain HTTP, or HTTPS once a web config turns TLS on. A liveness check on loopback, so the certificate is not
# checked (as the kubelet's HTTPS probes do not check it).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:10038/-/healthy || curl -fsSk https://127.0.0.1:10038/-/healthy || exit 1
# A --storage.path given as an argument takes precedence over this one.
ENTRYPOINT ["/usr/local/bin/ief_exporter", "--storage.path=/var/lib/ief-exporter"]
# Without arguments the image runs the demo (a built-in simulator: no config, no credentials). For real use,
# mount a config and say so: --config.file=/etc/ief_exporter/ief_exporter.yml (see README "Install"). HTTPS:
# mount the certificate and key (e.g. at /etc/ief_exporter/tls, readable by uid 10038) and a web config naming
# them, and add --web.config.file=/etc/ief_exporter/web.yml; renewed certificate files are picked up by themselves.
CMD ["--demo"]
