# The operator image for those who build with Docker: `docker build -t konsumerator:<version> .`
# (`npm run image` builds the same image without Docker or a base image registry: see the README).
# Compiled once with tsc (tsconfig.build.json: the operator and the user-facing verbs run,
# manifests, grant-secrets and simulate; not the try-it tools, the test plane or the benchmarks);
# the runtime image has only production dependencies and the JavaScript in dist/, about half the
# resident memory of running the sources through tsx. Node.js 24 LTS, as package.json's engines.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the build needs only the compiler (the `node` devDependency's script would
# download a second Node.js that this image already has).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# A numeric user: under `runAsNonRoot: true` the kubelet refuses a user given by name ("image has
# non-numeric user"). 65532 is the manifests' runAsUser/runAsGroup (src/cli/image.ts); a unit test
# keeps the two equal.
USER 65532:65532
# Node's flags and malloc's arenas: what the memory benchmark measured (src/cli/image.ts says why).
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "dist/cli/main.js"]
CMD ["run"]
