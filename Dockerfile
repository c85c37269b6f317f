# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.
# Base: the current Node LTS (Node 20 is past end of life; the code still runs on >= 20.19).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    STATE_DIR=/data \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund) && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
# `node` is uid/gid 1000 in the official image; deploy/k8s pins runAsUser 1000 to match.
USER node
VOLUME ["/data"]
EXPOSE 3000
# Liveness as the orchestrator sees it: the trading loop's heartbeat is fresh.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form, no shell or npm in between: node is PID 1 and SIGTERM reaches the service directly
# (it installs its own SIGTERM/SIGINT handlers, so PID 1's default signal behaviour does not matter).
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/trading-bot/apps/trading-bot/src/main.js"]
