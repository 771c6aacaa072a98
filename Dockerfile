# atlas-restore-watch: built with the dev toolchain, run with production dependencies only.
#   docker build --build-arg VERSION="$(node -p 'require("./package.json").version')" \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t atlas-restore-watch .
# Usage with compose and plain docker: README.md, "Docker, compose and alerts".
# Both stages use the same pinned base, so the compiled output runs on the Node.js it was built for.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
# Dependencies first: a source-only change reuses this layer.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24.22.3-bookworm-slim
# Build arguments only label the image; the daemon reports its own version in build_info.
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="atlas-restore-watch" \
      org.opencontainers.image.description="Watches MongoDB Atlas shared-tier and Flex restore jobs: JSON logs, Prometheus metrics, durable state." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24.22.3-bookworm-slim"
ENV NODE_ENV=production
# Sized heaps keep the daemon under 150 MiB resident at 10,000 jobs (bench/daemon.ts measures
# it): a small young generation (2 MiB semi-spaces; with 4 MiB the first cycle peaked some 8 MiB
# higher, at no CPU gain), and an old-generation cap that makes V8 collect before it grows. The
# daemon holds some 27 MB of live data at 10,000 jobs; raise the cap for many more.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=128"
# One malloc arena: V8's garbage-collector threads otherwise each get an arena of their own, whose
# pages stay resident between collections (some 7 MiB of the peak at 10,000 jobs, at no measured
# CPU cost).
ENV MALLOC_ARENA_MAX=1
WORKDIR /app
# --ignore-scripts (both stages): no dependency has an install script, and none may appear unseen.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The state directory exists and belongs to `node` before VOLUME, so a new named volume starts
# with that owner and the non-root daemon can write its state file.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME /app/data
EXPOSE 9917
# No curl in the slim image: Node's global fetch, with a timeout below Docker's own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9917/healthz',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# No tini in the image: as PID 1, node gets no default signal handling, but the daemon handles
# SIGTERM and SIGINT itself and starts no child processes, so there is nothing to forward or reap.
# Docker's own init (`docker run --init`, compose `init: true`) covers anything beyond that at no
# cost in the image and without an apt layer.
STOPSIGNAL SIGTERM
# node directly, not npm: npm does not pass SIGTERM on, and the daemon exits 0 on it.
CMD ["node", "dist/main.js"]
