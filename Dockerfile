# syntax=docker/dockerfile:1
# Two images from one build:
#   docker build --target plugin  -t modelpin-plugin  .   # Argo CD CMP container (runs `modelpin render`)
#   docker build --target sidecar -t modelpin-sidecar .   # serving sidecar (runs `modelpin serve` / `fetch`)
# Both run the same esbuild bundle (dist/modelpin.js). Only the sidecar carries ONNX Runtime, the
# one dependency the bundle leaves external because it is a native addon.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# .npmrc sets ignore-scripts=true: onnxruntime-node's postinstall would download CUDA libraries.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY plugin ./plugin
COPY sidecar ./sidecar
# The build script (esbuild + precompiled validators) lives under test/tools: the top level is fixed.
COPY test/tools ./test/tools
RUN npm run build

# Production-only ONNX Runtime (CPU build shipped inside the npm package; no CUDA download).
FROM ${NODE_IMAGE} AS ort
WORKDIR /opt/modelpin
COPY .npmrc package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && find node_modules -mindepth 1 -maxdepth 1 ! -name onnxruntime-node ! -name onnxruntime-common -exec rm -rf {} + \
 # The package ships every platform's binaries (~290 MB); keep Linux only.
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32

FROM ${NODE_IMAGE} AS plugin
COPY --from=build /src/dist /opt/modelpin/dist
COPY plugin/plugin.yaml /opt/modelpin/plugin/plugin.yaml
# `modelpin` here is dist/modelpin-plugin.cjs: `modelpin render` loads a render-only bundle with a
# V8 code cache, written after a warm-up render so that the parser, validators and renderer
# start compiled. V8 accepts a cache only from the same node binary and flags, so it is written
# here, in the image that runs it, and checked.
RUN node /opt/modelpin/dist/modelpin-plugin.cjs --write-render-cache \
 && node /opt/modelpin/dist/modelpin-plugin.cjs --check-render-cache \
 && ln -s /opt/modelpin/dist/modelpin-plugin.cjs /usr/local/bin/modelpin
# argocd-cmp-server runs as user 999 (see plugin/install); the image works as any non-root user.
USER 999
ENV NODE_ENV=production
# The CMP container's command is set by the repo-server patch (/var/run/argocd/argocd-cmp-server).
ENTRYPOINT ["modelpin"]

FROM ${NODE_IMAGE} AS sidecar
COPY --from=build /src/dist /opt/modelpin/dist
COPY --from=ort /opt/modelpin/node_modules /opt/modelpin/node_modules
# The example's model (77 KB), where the example's `local` overlay names it: a kind or minikube
# cluster runs the bundled example with no object store and no credentials.
COPY plugin/examples/fraud-detector/model.onnx /opt/modelpin/examples/fraud-detector/model.onnx
RUN ln -s /opt/modelpin/dist/modelpin.js /usr/local/bin/modelpin \
 && mkdir -p /var/cache/modelpin && chown 65532:65532 /var/cache/modelpin
USER 65532:65532
# The cache is the pod's emptyDir at this path (rendered manifests mount it there); on a
# workstation the default is the user's cache directory instead.
ENV NODE_ENV=production MODELPIN_CACHE_DIR=/var/cache/modelpin
EXPOSE 8080 8081
ENTRYPOINT ["modelpin"]
CMD ["serve"]
