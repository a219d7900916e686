# syntax=docker/dockerfile:1
#
# aimodel-operator image.
#
#   docker build -t aimodel-operator:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#
# Runtime base: distroless Node.js 24 on Debian 12, tag :nonroot.
#  - Same Debian release (glibc) as the node:24-bookworm-slim build stages, so anything built or
#    installed there runs unchanged; Alpine's musl would not guarantee that.
#  - No shell, no package manager, no npm: a far smaller attack surface and CVE count than
#    node:24-slim or node:24-alpine, and nothing for an intruder to run.
#  - Runs as uid/gid 65532 (nonroot) by default, which the Helm chart's restricted securityContext
#    (runAsUser 65532, runAsNonRoot) expects; its ENTRYPOINT is node itself.
# Because the runtime has no npm, production dependencies are installed in a separate stage and
# copied in. Override the bases (e.g. pinned by digest) with --build-arg NODE_IMAGE / RUNTIME_IMAGE.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: all dependencies, TypeScript -> dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script is the `node` devDependency's binary download; the
# base image already provides Node 24.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && find dist -name '*.test.js' -delete \
 && find dist -name '*.test.js.map' -delete

# ---- deps: production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="aimodel-operator" \
      org.opencontainers.image.description="Kubernetes operator that runs model-inference servers from ai.openai.com/v1 AIModel resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/openai/aimodel-operator" \
      org.opencontainers.image.url="https://github.com/openai/aimodel-operator" \
      org.opencontainers.image.documentation="https://github.com/openai/aimodel-operator/blob/main/charts/aimodel-operator/README.md" \
      org.opencontainers.image.vendor="aimodel-operator authors" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
WORKDIR /app
ENV NODE_ENV=production
# package.json declares "type": "module", which Node needs to load dist/ as ES modules. main.js
# also reads its version from ../package.json relative to dist/src/, i.e. dist/package.json.
COPY --from=deps --chown=65532:65532 /src/package.json ./package.json
COPY --from=deps --chown=65532:65532 /src/package.json ./dist/package.json
COPY --from=deps --chown=65532:65532 /src/node_modules ./node_modules
COPY --from=build --chown=65532:65532 /src/dist ./dist
USER 65532:65532
# 8080: /metrics, 8081: /healthz and /readyz.
EXPOSE 8080 8081
# Exec form: node is PID 1 and receives SIGTERM directly (the operator shuts down gracefully on it).
# The script is part of the entry point, not a CMD, because a pod's `args` (the chart's flags)
# replace the CMD and are appended to the entry point. V8 flags are given here, at start, the
# only time Node supports setting them: --optimize-for-size favours memory over speed (measured
# in bench/README.md, Findings).
ENTRYPOINT ["/nodejs/bin/node", "--optimize-for-size", "dist/src/main.js"]
