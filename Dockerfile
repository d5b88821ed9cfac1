# syntax=docker/dockerfile:1
# One image for every role: `start --roles http,bot`, `start --roles workers`, or `start` (the
# default: http,bot and a supervised workers child process, app/layout.ts).
# Multi-stage: TypeScript is compiled with the dev dependencies; the runtime stage has only the
# production dependencies, the compiled code and the static assets, and runs as the unprivileged
# `node` user. The Node.js major version follows .nvmrc (the current LTS).
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# `prepare` would build before the sources are copied: install without scripts, apply the
# dependencies' patches (patches/, what `postinstall` does), build after.
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package --error-on-fail
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY bin ./bin
COPY bot ./bot
COPY cli ./cli
COPY config ./config
COPY indices ./indices
COPY lib ./lib
COPY models ./models
COPY privacy ./privacy
COPY workers ./workers
RUN npm run build

# The build stage's dependencies, patched, without the development ones (patch-package included).
FROM build AS deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /app/dist ./dist
# Static assets (web chat, console) are read at run time from the source tree's asset folders.
COPY --from=build --chown=root:root /app/bot ./bot
# The code belongs to root and is read-only for the process; it writes only its heartbeat.
USER node
EXPOSE 3000
# Every role, workers-only processes included (they serve no HTTP): the process rewrites
# HEALTH_FILE every HEALTH_INTERVAL_S while its Redis and MongoDB connections answer
# (app/heartbeat.ts); the check fails when the file is older than three intervals.
ENV HEALTH_FILE=/tmp/hailong-health
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/bin/healthcheck.js"]
ENTRYPOINT ["node", "dist/bin/hailong.js"]
CMD ["start"]
