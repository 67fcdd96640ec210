# One production image for every tenantcast app (and the console's static files, served by the relay);
# compose picks the app with `command`:
#   node relay/dist/main.js  ·  node gateway/dist/main.js  ·  node relay/dist/delivery-main.js

# Build stage: the whole workspace with its devDependencies, compiled; then one folder per app with
# its production dependencies only (`pnpm deploy --prod`: the app's dist/, its node_modules, and the
# workspace packages it uses, as their dist/).
FROM node:20-slim AS build
WORKDIR /src
RUN npm install --global pnpm@12.4.2
# Manifests and the lockfile first: this install is rebuilt only when a dependency changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .pnpmfile.cjs ./
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
COPY packages/testkit/package.json packages/testkit/
COPY packages/cli/package.json packages/cli/
COPY apps/relay/package.json apps/relay/
COPY apps/gateway/package.json apps/gateway/
COPY apps/console/package.json apps/console/
COPY tests/package.json tests/
RUN pnpm install --frozen-lockfile
COPY tsconfig.json tsconfig.build.json ./
COPY packages packages
COPY apps apps
RUN pnpm build \
  && pnpm --filter @tenantcast/relay deploy --prod /out/relay \
  && pnpm --filter @tenantcast/gateway deploy --prod /out/gateway

# Runtime stage: Node and the deployed apps; no pnpm, no sources, no devDependencies. The files stay
# root's, read-only to the app, which runs as the image's unprivileged `node` user. Node is PID 1
# and handles SIGTERM itself: it drains and exits 0 (README, "Running in production").
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/relay relay
COPY --from=build /out/gateway gateway
# The tenant console's static files, where the relay looks by default (CONSOLE_DIR): /app/console/dist.
COPY --from=build /src/apps/console/dist console/dist
USER node
# 8080 relay, 8081 gateway (public); 9080 and 9081 their metrics listeners (GET /metrics), which bind
# 127.0.0.1 unless RELAY_METRICS_HOST / GATEWAY_METRICS_HOST say otherwise: never publish them with the public ports.
EXPOSE 8080 8081 9080 9081
CMD ["node", "relay/dist/main.js"]
