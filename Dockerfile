# Multi-stage build on Debian bookworm. Not built on the development machines (no Docker engine there); the build
# stage runs the same package script and CMake invocation as `make`, so what CI tests is what the image runs.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j"$(nproc)" --target ief_exporter ief_simulator

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl libcurl4 libssl3 libcrypt1 libyaml-cpp0.7 libprometheus-cpp-core1.0 libcivetweb1 \
      libsimdjson14 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10038 --no-create-home ief
COPY --from=build /src/build/ief_exporter /src/build/ief_simulator /usr/local/bin/
COPY config/ief_exporter.example.yml /etc/ief_exporter/ief_exporter.yml
USER ief
EXPOSE 10038
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:10038/-/healthy || exit 1
ENTRYPOINT ["/usr/local/bin/ief_exporter"]
CMD ["--config.file=/etc/ief_exporter/ief_exporter.yml"]
