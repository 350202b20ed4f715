# nodepulse container images: one Dockerfile, two targets.
#
#   docker build --target agent       -t nodepulse-agent:0.1.0 .
#   docker build --target coordinator -t nodepulse-coordinator:0.1.0 .
#   docker compose up -d --build      # compose.yaml: a coordinator and three agents
#
# Both images run node directly as PID 1 (never npm or a shell, which do not forward signals);
# each daemon installs its own SIGTERM/SIGINT handlers, as PID 1 gets no default signal actions.
# The agent deregisters and exits 0 within deregisterTimeout (1.5 s), the coordinator writes its
# buffered heartbeats and closes the store. Both run as uid 1000 (the base image's `node` user),
# numeric so that Kubernetes can verify runAsNonRoot. Kubernetes manifests: deploy/kubernetes/.
# test/deploy/ checks this file; test/e2e/agent-pid1.test.ts runs the agent target's ENTRYPOINT,
# ENV, USER and HEALTHCHECK as PID 1 of a PID namespace.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile the TypeScript, bundle the agent, keep the production dependencies --------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 (the coordinator's SQLite driver) compiles from source when no prebuilt binary is reachable.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# -> dist/cli/main.js (the whole CLI) and dist/nodepulse-agent.mjs (the one-file agent)
RUN npm run build && npm prune --omit=dev

# --- what both images share: the labels and production mode -------------------------------
FROM ${NODE_IMAGE} AS runtime
# The version is package.json's (test/deploy/dockerfile.test.ts keeps them equal); pass the
# repository's URL and commit when building for a registry.
ARG VERSION=0.1.0
ARG SOURCE_URL=
ARG REVISION=
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production
WORKDIR /app

# --- agent: the one file on a slim Node.js, no node_modules ---------------------------------
FROM runtime AS agent
LABEL org.opencontainers.image.title="nodepulse-agent" \
      org.opencontainers.image.description="nodepulse agent: registers its host, a sidecar's pod or a Kubernetes node with the coordinator, heartbeats and runs health checks"
COPY --from=build /app/dist/nodepulse-agent.mjs ./dist/nodepulse-agent.mjs
# The local status endpoint, for the HEALTHCHECK below; on loopback, as it answers without a token.
ENV NODEPULSE_STATUS_LISTEN=127.0.0.1:8421
# The identity file lives here: a volume keeps one instance across container re-creations.
RUN mkdir -p /var/lib/nodepulse-agent && chown 1000:1000 /var/lib/nodepulse-agent
USER 1000:1000
VOLUME ["/var/lib/nodepulse-agent"]
STOPSIGNAL SIGTERM
# node itself asks the status endpoint (slim images have no curl): 200 while the heartbeat loop
# makes progress, also while the coordinator is down (the agent is fine and retrying).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://' + process.env.NODEPULSE_STATUS_LISTEN + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The systemd unit's command (V8's lite mode: about 28 MiB less RSS, docs/performance.md);
# arguments after the image name are extra flags.
ENTRYPOINT ["node", "--lite-mode", "--no-expose-wasm", "dist/nodepulse-agent.mjs", "agent", "run"]

# --- coordinator: the compiled CLI with its production dependencies -------------------------
FROM runtime AS coordinator
LABEL org.opencontainers.image.title="nodepulse-coordinator" \
      org.opencontainers.image.description="nodepulse coordinator: keeps the fleet's nodes, times out silent ones, serves the operator API (SQLite on a volume, or PostgreSQL)"
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Reachable from other containers. The working directory is the volume: the default store,
# ./data/nodepulse.db, lands on it (as under the systemd unit); NODEPULSE_STORE or
# NODEPULSE_STORE_URL (postgres://...) name another.
ENV NODEPULSE_HOST=0.0.0.0 \
    NODEPULSE_PORT=8420
WORKDIR /var/lib/nodepulse
RUN chown 1000:1000 /var/lib/nodepulse
USER 1000:1000
VOLUME ["/var/lib/nodepulse"]
EXPOSE 8420
STOPSIGNAL SIGTERM
# Ready: the store answers and the coordinator is not shutting down. Plain HTTP on loopback:
# with tlsCert set, give the container a healthcheck of your own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.NODEPULSE_PORT || 8420) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js", "coordinator", "serve"]
