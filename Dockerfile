# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with dev dependencies, ship only runtime dependencies,
# run as the unprivileged `node` user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` would build before the sources are copied: install without scripts, build after.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY bin ./bin
COPY bot ./bot
COPY cli ./cli
COPY config ./config
COPY lib ./lib
COPY models ./models
COPY workers ./workers
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# Static assets of the web chat and console, if any, are read at run time from bot/.
COPY --from=build /app/bot ./bot
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "dist/bin/hailong.js"]
CMD ["start"]
