# Multi-stage: build with the Rust toolchain, run on a slim image as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY intents ./intents
COPY migrations ./migrations
COPY assets ./assets
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin aftercare

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data aftercare \
    && mkdir -p /data && chown aftercare /data
COPY --from=build /src/target/release/aftercare /usr/local/bin/aftercare
USER aftercare
WORKDIR /data
# The SQLite database lives here by default; mount a volume to keep it.
VOLUME ["/data"]
ENV DATABASE_URL=sqlite:///data/aftercare.db \
    AFTERCARE_HTTP_LISTEN=0.0.0.0:9464 \
    RUST_LOG=warn,aftercare=info
# /metrics, /healthz and /readyz (README: Metrics and health).
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD curl -fsS http://127.0.0.1:9464/healthz || exit 1
# SIGTERM (docker stop) shuts down cleanly: messages in progress finish, pending alerts resume on restart.
STOPSIGNAL SIGTERM
ENTRYPOINT ["aftercare"]
CMD ["serve"]
