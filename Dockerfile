# nodepulse agent as a container (a sidecar next to a workload, or one per host).
#
#   docker build -t nodepulse-agent .
#   docker run -d --name nodepulse-agent --init=false \
#     -e NODEPULSE_COORDINATOR=http://coordinator:8420 -e NODEPULSE_TOKEN=... \
#     -v nodepulse-agent-state:/var/lib/nodepulse-agent nodepulse-agent
#
# The agent runs as PID 1 (node directly, never `npm run`): it installs its own SIGTERM/SIGINT
# handlers, deregisters and exits 0 within deregisterTimeout (default 1.5 s), well inside
# Docker's default 10 s stop timeout. See docs/agent.md for the Kubernetes sidecar snippet.

# --- build: compile TypeScript and install production dependencies ------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 (a coordinator dependency) compiles from source when no prebuilt binary is reachable.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime --------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NODEPULSE_STATE_DIR=/var/lib/nodepulse-agent
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config/agent.example.yaml ./config/agent.example.yaml
RUN mkdir -p /var/lib/nodepulse-agent && chown node:node /var/lib/nodepulse-agent
USER node
# The identity file lives here: mount a volume to keep one instance across container restarts.
VOLUME ["/var/lib/nodepulse-agent"]
STOPSIGNAL SIGTERM
# The agent bundle under V8's lite mode: about 28 MiB less RSS than dist/cli/main.js at the same
# CPU (docs/performance.md); the same command as systemd/nodepulse-agent.service.
ENTRYPOINT ["node", "--lite-mode", "--no-expose-wasm", "dist/nodepulse-agent.mjs", "agent", "run"]
