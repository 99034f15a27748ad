# The gearbun binary in a slim image: built with Bun, run without it.
#
#   docker build -t gearbun .
#   docker run --rm gearbun --version
#
# An application's image starts from this one and adds its handlers and config (README: Install).

FROM oven/bun:1 AS build
WORKDIR /build
# Only what the binary is built from: the CLI and library sources, the Python and PHP handler
# adapters it embeds, and the package manifest (gearbun has no runtime dependencies, so there is
# nothing to install). Python or PHP handlers need python3 or php-cli in the final image.
COPY package.json tsconfig.json ./
COPY src ./src
COPY adapters ./adapters
RUN bun run build && ./dist/gearbun --version

FROM debian:bookworm-slim
COPY --from=build /build/dist/gearbun /usr/local/bin/gearbun
WORKDIR /app
# gearbun worker stops its children gracefully on SIGTERM (give `docker stop --time` more than
# the stop deadline); the supervisor can be PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gearbun"]
CMD ["--help"]
