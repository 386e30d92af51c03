# oci2eif's container images, built the conventional way, on Debian 12:
#
#   docker build -t oci2eif .                  the service (the default, last target; with podman,
#                                              add --format docker to keep the HEALTHCHECK)
#   docker build --target ci -t oci2eif-ci .   a shell with oci2eif and oci2eif-ci-submit, for CI
#                                              jobs (docs/ci.md)
#   docker run -v oci2eif-data:/var/lib/oci2eif -v $PWD/tokens:/etc/oci2eif/tokens:ro \
#     -v /usr/share/nitro_enclaves/blobs:/usr/share/nitro_enclaves/blobs:ro -p 8080:8080 oci2eif
#
# The service listens on 0.0.0.0:8080, which the daemon allows only with API tokens (mount a
# token file at /etc/oci2eif/tokens), keeps its state in the /var/lib/oci2eif volume and runs as
# the unprivileged user 10001. Kernels: nitro-cli's blobs mounted as above, `--kernel-dir`, or
# uploaded (POST /v1/kernels). Every setting has an OCI2EIF_* variable (README, Configuration).
#
# deploy/container/build_image.py builds the same service image without Docker and bit for bit
# reproducibly (the same install tree gives the same digest); this file is for those who build
# with Docker or podman. `--build-context build=DIR` (DIR/opt/oci2eif from `cmake --install`)
# skips the compile stage, as the test suite does (tests/e2e/dockerfile_e2e.py).

FROM docker.io/library/debian:12-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config ca-certificates python3 help2man \
      libcpp-httplib-dev libcurl4-openssl-dev nlohmann-json3-dev libssl-dev libarchive-dev \
      libspdlog-dev libfmt-dev libsqlite3-dev libpq-dev libcli11-dev zlib1g-dev libisal-dev libp11-dev \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
# No --strip: the init binaries are measured into the PCRs as they are built.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCI2EIF_BUILD_TESTS=OFF \
    && cmake --build /build \
    && cmake --install /build --prefix /opt/oci2eif

# What both images share: the runtime libraries, the CA bundle for registry TLS, curl for the
# health check, the binaries; libp11 and p11-kit's proxy module for signing keys in PKCS#11
# tokens (a token's own module is mounted or installed on top, README "PKCS#11").
FROM docker.io/library/debian:12-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl libarchive13 libbrotli1 libcpp-httplib0.11 libcurl4 libfmt9 libisal2 libpq5 \
      libspdlog1.10 libsqlite3-0 libssl3 libzstd1 zlib1g libp11-3 p11-kit-modules \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/oci2eif/bin/oci2eif /opt/oci2eif/bin/oci2eif-ci-submit /usr/local/bin/
COPY --from=build /opt/oci2eif/lib/oci2eif/ /usr/local/lib/oci2eif/
RUN oci2eif --version

# For CI jobs: Debian's shell and tools, `oci2eif submit` and the step the GitHub Action and the
# GitLab template run (oci2eif-ci-submit).
FROM runtime AS ci
CMD ["/bin/bash"]

# The service.
FROM runtime AS service
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/oci2eif \
      --shell /usr/sbin/nologin oci2eif \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/oci2eif \
    && install -d -m 0755 /etc/oci2eif
COPY deploy/container/config.json /etc/oci2eif/config.json
USER 10001:10001
WORKDIR /var/lib/oci2eif
VOLUME /var/lib/oci2eif
EXPOSE 8080
STOPSIGNAL SIGTERM
# Probes the port the daemon listens on (OCI2EIF_LISTEN when set, else the image's 8080).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD l=${OCI2EIF_LISTEN:-0.0.0.0:8080}; curl -fsS -o /dev/null "http://127.0.0.1:${l##*:}/healthz"
ENTRYPOINT ["/usr/local/bin/oci2eif"]
CMD ["serve", "--config", "/etc/oci2eif/config.json"]
