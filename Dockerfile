# syntax=docker/dockerfile:1
#
# One image for every io-session process:
#   docker run … io-session            → `io-session node`   (a Socket.IO node: HTTP API + WebSockets on $PORT)
#   docker run … io-session worker     → `io-session worker` (receipts and session events → webhooks)
# Configuration is environment only (see docs/operating.md and CONTRACT §2).

ARG NODE_IMAGE=node:20-slim

# --- manifests: package.json of every workspace package, nothing else ------------------------------------
# Copied into the stages below, so `npm ci` stays cached until a manifest changes (whatever the packages are).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY packages ./packages
RUN find packages -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# --- build: every dependency, compile the workspaces ------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages ./packages
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json turbo.json ./
COPY packages ./packages
RUN npm run build
# What each package publishes (its package.json "files": dist, the store's Lua scripts, the client's browser
# bundle), laid out in /out for the runtime stage.
RUN node -e "const fs = require('fs'), path = require('path'); \
  for (const name of fs.readdirSync('packages')) { \
    const dir = path.join('packages', name); \
    if (!fs.existsSync(path.join(dir, 'package.json'))) continue; \
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')); \
    for (const f of ['package.json', ...(manifest.files || [])]) \
      fs.cpSync(path.join(dir, f), path.join('/out', dir, f), { recursive: true }); \
  }"

# --- runtime: production dependencies and the published files only ---------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages ./packages
# --omit=dev: no TypeScript, turbo, vitest or linters in the image; the workspace packages are linked.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /out/packages ./packages

# The base image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 3000
# Liveness only (the process answers); readiness (/readyz) is the load balancer's and Kubernetes' business.
# The worker serves no HTTP: compose and k8s disable this check for it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (graceful drain, CONTRACT §8).
ENTRYPOINT ["node", "packages/server/dist/cli.js"]
CMD ["node"]
