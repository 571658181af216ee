// Release step: pins the plugin image by digest in every install manifest, and checks that a
// tree is pinned (lives under test/ because the repository's top level is fixed).
//   node test/tools/release-pin-image.mjs ghcr.io/modelpin/modelpin-plugin:0.1.0@sha256:<hex>
//   node test/tools/release-pin-image.mjs --check      exit 1 unless every manifest is pinned
//   (--root DIR: act on another checkout; the tests use a copy)
// The reference comes from the push of the release image, e.g.
//   docker buildx build --target plugin --push -t ghcr.io/modelpin/modelpin-plugin:0.1.0 \
//     --metadata-file meta.json .   →   "containerimage.digest" in meta.json
// Its tag must be package.json's version: a release pins the image it built, not another one.
// Writes: the `images:` entry (digest) of plugin/install/kustomization.yaml and
// plugin/install/component/kustomization.yaml, and the modelpin container's image in
// plugin/install/helm-values.yaml. Nothing else reads or writes a registry.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const IMAGE = 'ghcr.io/modelpin/modelpin-plugin';
const KUSTOMIZATIONS = ['plugin/install/kustomization.yaml', 'plugin/install/component/kustomization.yaml'];
const HELM_VALUES = 'plugin/install/helm-values.yaml';
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function version(root) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

function imagesEntry(doc, file) {
  const images = doc.get('images');
  const entry = images?.items.find((i) => i.get('name') === IMAGE);
  if (!entry) throw new Error(`${file}: no images entry named ${IMAGE}`);
  return entry;
}

function helmContainer(doc) {
  const containers = doc.getIn(['repoServer', 'extraContainers']);
  const c = containers?.items.find((i) => i.get('name') === 'modelpin');
  if (!c) throw new Error(`${HELM_VALUES}: no repoServer.extraContainers entry named modelpin`);
  return c;
}

/** Every reason `root` is not a release tree; empty when it is. */
export function releaseProblems(root) {
  const v = version(root);
  const want = (digest) => `${IMAGE}:${v}@${digest}`;
  const problems = [];
  const digests = new Set();
  for (const file of KUSTOMIZATIONS) {
    const entry = imagesEntry(parseDocument(readFileSync(join(root, file), 'utf8')), file);
    const tag = String(entry.get('newTag'));
    const digest = entry.get('digest');
    if (tag !== v) problems.push(`${file}: images[${IMAGE}].newTag is "${tag}", package.json version is "${v}"`);
    if (typeof digest !== 'string' || !DIGEST.test(digest)) problems.push(`${file}: images[${IMAGE}] has no digest (a release pins the image: sha256:<64 hex>)`);
    else digests.add(digest);
  }
  const image = helmContainer(parseDocument(readFileSync(join(root, HELM_VALUES), 'utf8'))).get('image');
  const m = /@(sha256:[0-9a-f]{64})$/.exec(String(image));
  if (!m) problems.push(`${HELM_VALUES}: repoServer.extraContainers[modelpin].image "${image}" is not pinned by digest`);
  else {
    digests.add(m[1]);
    if (image !== want(m[1])) problems.push(`${HELM_VALUES}: repoServer.extraContainers[modelpin].image is "${image}", expected ${want(m[1])}`);
  }
  if (digests.size > 1) problems.push(`the manifests pin different digests: ${[...digests].join(', ')}`);
  return problems;
}

/** Writes `ref` (IMAGE:<version>@sha256:<hex>) into every install manifest. */
export function pin(root, ref) {
  const v = version(root);
  const m = /^(.+):([^:@/]+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!m) throw new Error(`"${ref}" is not <image>:<tag>@sha256:<64 lowercase hex>`);
  const [, name, tag, digest] = m;
  if (name !== IMAGE) throw new Error(`"${ref}" names ${name}; the install manifests run ${IMAGE}`);
  if (tag !== v) throw new Error(`"${ref}" has tag ${tag}; package.json version is ${v} (release the version you built)`);
  for (const file of KUSTOMIZATIONS) {
    const doc = parseDocument(readFileSync(join(root, file), 'utf8'));
    const entry = imagesEntry(doc, file);
    entry.set('newTag', tag);
    entry.set('digest', digest);
    writeFileSync(join(root, file), doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
  }
  const doc = parseDocument(readFileSync(join(root, HELM_VALUES), 'utf8'));
  helmContainer(doc).set('image', ref);
  writeFileSync(join(root, HELM_VALUES), doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root = at >= 0 ? resolve(args.splice(at, 2)[1]) : fileURLToPath(new URL('../..', import.meta.url));
  try {
    if (args[0] !== '--check') {
      if (args.length !== 1) throw new Error('usage: release-pin-image.mjs <image>:<version>@sha256:<hex> | --check [--root DIR]');
      pin(root, args[0]);
    }
    const problems = releaseProblems(root);
    if (problems.length > 0) {
      process.stderr.write(`not a release: the plugin image is not pinned by digest\n${problems.map((p) => `  ${p}\n`).join('')}` +
        `  fix: node test/tools/release-pin-image.mjs ${IMAGE}:${version(root)}@sha256:<digest of the pushed image>\n`);
      process.exit(1);
    }
    process.stdout.write(`pinned: ${IMAGE}:${version(root)}@${[...new Set(KUSTOMIZATIONS.map((f) => imagesEntry(parseDocument(readFileSync(join(root, f), 'utf8')), f).get('digest')))][0]}\n`);
  } catch (e) {
    process.stderr.write(`release-pin-image: ${e.message}\n`);
    process.exit(1);
  }
}
