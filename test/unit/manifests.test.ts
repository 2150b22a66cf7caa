/**
 * The deployment files are code too: docker-compose.yml, Dockerfile, deploy/haproxy/haproxy.cfg and k8s/ are
 * parsed, the Kubernetes objects are checked against their schemas (kubernetes-models), the kustomize
 * overlays are built (by a small strategic-merge implementation here, and compared with `kubectl kustomize`
 * where a binary exists), and the operational invariants are checked against what the code really reads
 * and serves: env names, probe paths, ports, CLI commands, drain timings, Redis eviction policy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Model } from '@kubernetes-models/base';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet, type IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import {
  PodDisruptionBudget,
  type IPodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import {
  PrometheusRule,
  type IPrometheusRule,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import {
  ServiceMonitor,
  type IServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { HAPROXY_CFG_PATH, haproxyCheck, haproxyInstalled, haproxyTestConfig } from '../helpers/haproxy.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(ROOT, 'k8s');
const OVERLAYS = readdirSync(join(K8S, 'overlays')).map((name) => join(K8S, 'overlays', name));
const BUILDS = [join(K8S, 'base'), ...OVERLAYS];
/** Seconds a node needs, beyond preStop + DRAIN_MS, to close its queues and exit. */
const GRACE_MARGIN_S = 5;
/** The one image of the project (Dockerfile) as the manifests name it before kustomize's `images`. */
const IMAGE = 'io-session';
/** Variables of the Node.js runtime itself: allowed though no io-session code reads them. */
const RUNTIME_ENV = new Set(['NODE_ENV', 'NODE_OPTIONS']);

const read = (path: string): string => readFileSync(resolve(ROOT, path), 'utf8');
const rel = (path: string): string => relative(ROOT, path);

function walk(dir: string, test: (path: string) => boolean): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path, test) : test(path) ? [path] : [];
    })
    .sort();
}

// ---- what the code reads and serves ------------------------------------------------------------------------

const SOURCES = walk(join(ROOT, 'packages'), (p) => /\/src\/.*\.ts$/.test(p) && !p.includes('node_modules'));

/**
 * Environment variable names the packages read: `process.env.X` / `env.X` / `env['X']` anywhere, and the keys of
 * the zod schemas in config modules (files whose name contains "config"), e.g. `REDIS_URL: redisUrl.default(…)`.
 */
function codeEnvNames(): Set<string> {
  const names = new Set<string>();
  for (const file of SOURCES) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv(?:\.|\[\s*['"])([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
    if (/config/i.test(file.split('/').pop()!)) {
      for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):\s/gm)) names.add(m[1]!);
    }
  }
  return names;
}

/** The sub-commands of `io-session` (the `case '…':` labels of the CLI's switch). */
function cliCommands(): Set<string> {
  return new Set([...read('packages/server/src/cli.ts').matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!));
}

/** Paths the node's HTTP server registers with `app.get('/…')` (or any `.get('/…')` of its http module). */
function servedGetPaths(): Set<string> {
  const paths = new Set<string>();
  for (const file of SOURCES.filter((f) => f.includes('/packages/server/src/'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\.get(?:<[^>]*>)?\(\s*'(\/[^']*)'/g))
      paths.add(m[1]!);
  }
  return paths;
}

// ---- YAML and kustomize ----------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

function loadDocs(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isMap = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNamed = (v: unknown): v is Record<string, Json> & { name: string } =>
  isMap(v) && typeof v.name === 'string';

/** Strategic merge as kustomize applies it to these files: maps merge, lists of named items merge by name. */
function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isMap(target) && isMap(patch)) {
    const out: Record<string, unknown> = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (key === '$patch') continue;
      if (value === null) delete out[key];
      else out[key] = key in out ? strategicMerge(out[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(target) && Array.isArray(patch) && target.every(isNamed) && patch.every(isNamed)) {
    const out: unknown[] = [...target];
    for (const item of patch) {
      const i = out.findIndex((x) => isNamed(x) && x.name === item.name);
      if (i >= 0) out[i] = strategicMerge(out[i], item);
      else out.push(item);
    }
    return out;
  }
  return patch;
}

interface Kustomization {
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  configMapGenerator?: {
    name: string;
    files?: string[];
    options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> };
  }[];
}
const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'patches',
  'namespace',
  'images',
  'labels',
  'configMapGenerator',
]);

/** The ConfigMaps of a `configMapGenerator` (files as keys named after them, without the name hash). */
function generatedConfigMaps(dir: string, k: Kustomization): K8sObject[] {
  return (k.configMapGenerator ?? []).map((g) => {
    const known = new Set(['name', 'files', 'options']);
    const unknown = [...Object.keys(g), ...Object.keys(g.options ?? {})].filter(
      (f) => !known.has(f) && f !== 'disableNameSuffixHash' && f !== 'labels',
    );
    if (unknown.length > 0 || g.options?.disableNameSuffixHash !== true)
      throw new Error(
        `${rel(dir)}: teach kustomizeBuild() about configMapGenerator ${unknown.join(', ') || 'name hashes'}`,
      );
    const data = Object.fromEntries(
      (g.files ?? []).map((file) => [file.split('/').pop()!, readFileSync(join(dir, file), 'utf8')]),
    );
    const labels = g.options.labels;
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: g.name, ...(labels ? { labels } : {}) },
      data,
    };
  });
}
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume']);

function podSpecOf(obj: K8sObject): { containers?: IContainer[]; initContainers?: IContainer[] } | undefined {
  const spec = obj.spec as { template?: { spec?: { containers?: IContainer[] } } } | undefined;
  return spec?.template?.spec;
}

/** `kustomize build`, for the features these manifests use (anything else fails loudly). */
function kustomizeBuild(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZATION_FIELDS.has(f));
  if (unknown.length > 0) throw new Error(`${rel(dir)}: teach kustomizeBuild() about ${unknown.join(', ')}`);
  let objects: K8sObject[] = [];
  for (const res of k.resources ?? []) {
    const path = join(dir, res);
    objects.push(...(statSync(path).isDirectory() ? kustomizeBuild(path) : loadDocs(path)));
  }
  objects.push(...generatedConfigMaps(dir, k));
  for (const p of k.patches ?? []) {
    const docs = p.path
      ? loadDocs(join(dir, p.path))
      : parseAllDocuments(p.patch ?? '').map((d) => d.toJS() as K8sObject);
    for (const patch of docs) {
      const kind = p.target?.kind ?? patch.kind;
      const name = p.target?.name ?? patch.metadata.name;
      const i = objects.findIndex((o) => o.kind === kind && o.metadata.name === name);
      if (i < 0) throw new Error(`${rel(dir)}: patch ${p.path ?? ''} matches no ${kind}/${name}`);
      if ((patch as { $patch?: string }).$patch === 'delete') objects.splice(i, 1);
      else objects[i] = strategicMerge(objects[i], patch) as K8sObject;
    }
  }
  if (k.namespace) {
    objects = objects.map((o) =>
      o.kind === 'Namespace'
        ? { ...o, metadata: { ...o.metadata, name: k.namespace! } }
        : CLUSTER_SCOPED.has(o.kind)
          ? o
          : { ...o, metadata: { ...o.metadata, namespace: k.namespace } },
    );
  }
  for (const l of k.labels ?? []) {
    if (l.includeSelectors || l.includeTemplates)
      throw new Error('teach kustomizeBuild() about label selectors');
    objects = objects.map((o) => ({
      ...o,
      metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...l.pairs } },
    }));
  }
  for (const image of k.images ?? []) {
    for (const o of objects) {
      const pod = podSpecOf(o);
      for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
        const [name, tag] = (c.image ?? '').split(/:(?=[^/]*$)/);
        if (name !== image.name) continue;
        const newTag = image.newTag ?? tag;
        c.image = `${image.newName ?? name}${newTag ? `:${newTag}` : ''}`;
      }
    }
  }
  return objects;
}

/**
 * `kubectl kustomize` or `kustomize build`, when one with kustomize v5+ is on PATH (older ones lack `labels`;
 * Debian's kubernetes-client bundles kustomize v2): the reference the build above is compared with.
 */
const kustomizeBinary = ((): string[] | undefined => {
  const candidates: [string[], string[]][] = [
    [
      ['kubectl', 'kustomize'],
      ['kubectl', 'version', '--client'],
    ],
    [
      ['kustomize', 'build'],
      ['kustomize', 'version'],
    ],
  ];
  for (const [command, versionCommand] of candidates) {
    const res = spawnSync(versionCommand[0]!, versionCommand.slice(1), { encoding: 'utf8' });
    const major = Number(
      /Kustomize Version: v(\d+)|^v?(\d+)\./m
        .exec(res.stdout ?? '')
        ?.slice(1)
        .find(Boolean),
    );
    if (res.status === 0 && major >= 5) return command;
  }
  return undefined;
})();

const idOf = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byId = (objs: K8sObject[]): K8sObject[] => [...objs].sort((a, b) => idOf(a).localeCompare(idOf(b)));

// ---- Kubernetes schemas ------------------------------------------------------------------------------------

type ModelClass = new (data: never) => Model<unknown>;
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'apps/v1/StatefulSet': StatefulSet as unknown as ModelClass,
  'networking.k8s.io/v1/Ingress': Ingress as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as ModelClass,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as ModelClass,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as ModelClass,
};

/** Schema problems of one object ('' when it is valid). */
function schemaErrors(obj: K8sObject): string {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return `no schema known for ${obj.apiVersion} ${obj.kind} (add it to MODELS)`;
  try {
    new Model(obj as never).validate();
    return '';
  } catch (err) {
    const details = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return details?.map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ') ?? String(err);
  }
}

// ---- compose and Dockerfile -------------------------------------------------------------------------------

/** Compose's `${VAR:-default}` / `${VAR-default}` / `${VAR}` with nothing set: the defaults. */
function interpolate(value: unknown): string {
  return String(value).replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_m, _name, fallback?: string) => fallback ?? '',
  );
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, unknown>;
  depends_on?: unknown;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  volumes?: string[];
  ports?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = Object.entries(compose.services);
const ourServices = services.filter(([, s]) => s.image?.startsWith(IMAGE) || s.build !== undefined);
const nodeServices = ourServices.filter(([, s]) => (s.command ?? ['node'])[0] === 'node');
const workerServices = ourServices.filter(([, s]) => s.command?.[0] === 'worker');
const envOf = (s: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));

function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(duration.trim());
  if (!m) throw new Error(`cannot read the duration ${duration}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

interface Instruction {
  op: string;
  args: string;
}
/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function dockerStages(): Instruction[][] {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

// ---- the tests -------------------------------------------------------------------------------------------

const yamlFiles = [join(ROOT, 'docker-compose.yml'), ...walk(K8S, (p) => /\.ya?ml$/.test(p))];

describe('every YAML file', () => {
  it.each(yamlFiles.map(rel))('%s parses without errors or warnings', (file) => {
    const docs = parseAllDocuments(read(file), { merge: true });
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(doc.errors.map(String)).toEqual([]);
      expect(doc.warnings.map(String)).toEqual([]);
    }
  });

  it('k8s/ holds a base and the dev and managed-redis overlays, each a kustomization', () => {
    expect(OVERLAYS.map((o) => o.split('/').pop()).sort()).toEqual(['dev', 'managed-redis']);
    for (const dir of BUILDS) expect(() => read(join(dir, 'kustomization.yaml'))).not.toThrow();
  });
});

describe.each(BUILDS.map((dir) => ({ dir, name: rel(dir) })))('kustomize build of $name', ({ dir }) => {
  const objects = kustomizeBuild(dir);
  const find = <T>(kind: string, name: string): T => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${rel(dir)} has no ${kind} ${name}`);
    return found as unknown as T;
  };
  const config = find<IConfigMap>('ConfigMap', 'io-session-config').data ?? {};
  const secret = find<ISecret>('Secret', 'io-session-secrets').stringData ?? {};
  const port = Number(config.PORT ?? 3000);
  const drainMs = Number(config.DRAIN_MS ?? 10_000);
  const node = find<IDeployment>('Deployment', 'io-session-node');
  const pod = node.spec!.template.spec!;
  const container = pod.containers.find((c) => c.name === 'node')!;
  const podLabels = node.spec!.template.metadata!.labels!;
  const matches = (selector: Record<string, string> | undefined): boolean =>
    Object.entries(selector ?? {}).every(([k, v]) => podLabels[k] === v) &&
    Object.keys(selector ?? {}).length > 0;

  it('every object is valid against its Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(5);
    const problems = objects.map((o) => [idOf(o), schemaErrors(o)]).filter(([, e]) => e !== '');
    expect(problems).toEqual([]);
    expect(new Set(objects.map(idOf)).size).toBe(objects.length);
  });

  it.skipIf(!kustomizeBinary)(`matches \`${kustomizeBinary?.join(' ') ?? 'kustomize build'}\``, () => {
    const res = spawnSync(kustomizeBinary![0]!, [...kustomizeBinary!.slice(1), dir], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const theirs = parseAllDocuments(res.stdout).map((d) => d.toJS() as K8sObject);
    expect(byId(objects)).toEqual(byId(theirs));
  });

  it('the node container listens on PORT and its probes hit /readyz and /healthz on that port', () => {
    expect(container.image).toMatch(new RegExp(`(^|/)${IMAGE}(:|@|$)`));
    expect(container.ports?.map((p) => p.containerPort)).toContain(port);
    const served = servedGetPaths();
    const probePort = (probe: IProbe | undefined): number | undefined => {
      const p = probe?.httpGet?.port;
      return typeof p === 'number' ? p : container.ports?.find((cp) => cp.name === p)?.containerPort;
    };
    const probes = {
      readiness: container.readinessProbe,
      liveness: container.livenessProbe,
      startup: container.startupProbe,
    };
    expect(probes.readiness?.httpGet?.path).toBe('/readyz');
    expect(probes.liveness?.httpGet?.path).toBe('/healthz');
    expect(probes.startup?.httpGet?.path).toBe('/healthz');
    for (const probe of Object.values(probes)) {
      expect(served).toContain(probe!.httpGet!.path);
      expect(probePort(probe)).toBe(port);
    }
  });

  it('terminationGracePeriodSeconds > preStop + DRAIN_MS + margin, and updates roll one pod at a time', () => {
    const preStop = container.lifecycle?.preStop;
    const command = preStop?.exec?.command?.join(' ') ?? '';
    const sleepS = Number(/\bsleep\s+(\d+)/.exec(command)?.[1] ?? NaN);
    expect(sleepS).toBeGreaterThanOrEqual(5);
    expect(sleepS).toBeLessThanOrEqual(10);
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThan(sleepS + drainMs / 1000 + GRACE_MARGIN_S);
    expect(node.spec!.replicas).toBe(3);
    expect(node.spec!.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it('the node runs `io-session node` with NODE_ID from the pod name, resources and anti-affinity', () => {
    expect(cliCommands()).toContain(container.args?.[0]);
    expect(container.args).toEqual(['node']);
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT
    const nodeId = container.env?.find((e) => e.name === 'NODE_ID');
    expect(nodeId?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(container.envFrom?.map((e) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([
      'io-session-config',
      'io-session-secrets',
    ]);
    expect(container.resources?.requests?.cpu).toBeDefined();
    expect(container.resources?.requests?.memory).toBeDefined();
    expect(container.resources?.limits?.memory).toBeDefined();
    const anti = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const terms = [
      ...anti.map((t) => t.podAffinityTerm),
      ...(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ];
    expect(
      terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector?.matchLabels)),
    ).toBe(true);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
  });

  it('the Service, Ingress, PodDisruptionBudget and HPA all point at the node pods', () => {
    const service = find<IService>('Service', 'io-session-node');
    expect(matches(service.spec!.selector)).toBe(true);
    const servicePort = service.spec!.ports![0]!;
    expect(
      container.ports?.some(
        (p) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort,
      ),
    ).toBe(true);

    const ingress = find<IIngress>('Ingress', 'io-session');
    const backend = ingress.spec!.rules![0]!.http!.paths[0]!.backend.service!;
    expect(backend.name).toBe('io-session-node');
    expect(
      service.spec!.ports!.some((p) => p.name === backend.port?.name || p.port === backend.port?.number),
    ).toBe(true);
    const annotations = ingress.metadata!.annotations!;
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(
      3600,
    );
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(
      3600,
    );
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');

    const pdb = find<IPodDisruptionBudget>('PodDisruptionBudget', 'io-session-node');
    expect(matches(pdb.spec!.selector?.matchLabels)).toBe(true);
    expect(pdb.spec!.maxUnavailable ?? 0).toBe(1);

    const hpa = find<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'io-session-node');
    expect(hpa.spec!.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'io-session-node' });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(node.spec!.replicas!);
    expect(hpa.spec!.metrics?.map((m) => m.resource?.name)).toContain('cpu');
  });

  it('the worker runs `io-session worker`, two replicas, with time to finish its jobs', () => {
    const worker = find<IDeployment>('Deployment', 'io-session-worker');
    const c = worker.spec!.template.spec!.containers[0]!;
    expect(c.image).toBe(container.image);
    expect(c.args).toEqual(['worker']);
    expect(cliCommands()).toContain('worker');
    expect(worker.spec!.replicas).toBe(2);
    expect(worker.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('every env name given to our containers is one the code reads', () => {
    const known = codeEnvNames();
    const given = new Set([...Object.keys(config), ...Object.keys(secret)]);
    for (const o of objects) {
      for (const c of podSpecOf(o)?.containers ?? []) {
        if (!c.image?.includes(IMAGE)) continue;
        for (const e of c.env ?? []) given.add(e.name);
      }
    }
    const unknownNames = [...given].filter((n) => !known.has(n) && !RUNTIME_ENV.has(n));
    expect(unknownNames).toEqual([]);
  });

  it('Redis: the bundled one has noeviction and AOF; the managed overlay drops it and points elsewhere', () => {
    const redis = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis') as
      IStatefulSet | undefined;
    if (dir.endsWith('managed-redis')) {
      expect(redis).toBeUndefined();
      expect(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'redis')).toBeUndefined();
      expect(secret.REDIS_URL).toMatch(/^rediss?:\/\//);
      expect(new URL(secret.REDIS_URL!).hostname).not.toBe('redis');
      return;
    }
    const args = redis!.spec!.template.spec!.containers[0]!.args!.join(' ');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect(args).toContain('--appendonly yes');
    expect(redis!.spec!.template.spec!.containers[0]!.image).toMatch(/^redis:7/);
    const svc = find<IService>('Service', 'redis');
    expect(new URL(secret.REDIS_URL!).hostname).toBe(svc.metadata!.name);
    expect(svc.spec!.ports![0]!.port).toBe(Number(new URL(secret.REDIS_URL!).port || 6379));
  });
});

describe('k8s/monitoring: ServiceMonitor, PrometheusRule and the Grafana dashboard', () => {
  const dir = join(K8S, 'monitoring');
  const objects = kustomizeBuild(dir);
  const base = kustomizeBuild(join(K8S, 'base'));
  const find = <T>(list: K8sObject[], kind: string, name?: string): T => {
    const found = list.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
    if (!found) throw new Error(`no ${kind} ${name ?? ''}`);
    return found as unknown as T;
  };
  const service = find<IService>(base, 'Service', 'io-session-node');
  const monitor = find<IServiceMonitor>(objects, 'ServiceMonitor');
  const rules = find<IPrometheusRule>(objects, 'PrometheusRule');

  it('is a kustomization apart from the base (which builds without the prometheus-operator CRDs)', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'PrometheusRule', 'ServiceMonitor']);
    expect(base.some((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toBe(false);
    for (const o of objects) expect(o.metadata.namespace).toBe(service.metadata!.namespace);
  });

  it('every object is valid against its schema', () => {
    const problems = objects.map((o) => [idOf(o), schemaErrors(o)]).filter(([, e]) => e !== '');
    expect(problems).toEqual([]);
  });

  it.skipIf(!kustomizeBinary)(`matches \`${kustomizeBinary?.join(' ') ?? 'kustomize build'}\``, () => {
    const res = spawnSync(kustomizeBinary![0]!, [...kustomizeBinary!.slice(1), dir], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const theirs = parseAllDocuments(res.stdout).map((d) => d.toJS() as K8sObject);
    expect(byId(objects)).toEqual(byId(theirs));
  });

  it('the ServiceMonitor scrapes /metrics on a named port of the node Service', () => {
    expect(Object.entries(monitor.spec.selector.matchLabels ?? {})).toEqual(
      Object.entries(service.metadata!.labels ?? {}).filter(
        ([k]) => k in (monitor.spec.selector.matchLabels ?? {}),
      ),
    );
    expect(Object.keys(monitor.spec.selector.matchLabels ?? {}).length).toBeGreaterThan(0);
    const endpoint = monitor.spec.endpoints[0]!;
    expect(service.spec!.ports!.map((p) => p.name)).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
    expect(servedGetPaths()).toContain('/metrics');
  });

  it('the rules select the job the ServiceMonitor gives its samples: the Service name', () => {
    expect(monitor.spec.jobLabel).toBeUndefined(); // so the job label is the Service's name
    const groups = rules.spec.groups ?? [];
    const exprs = groups.flatMap((g) => (g.rules ?? []).map((r) => String(r.expr)));
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    for (const expr of exprs) {
      const jobs = [...expr.matchAll(/\bjob\s*(=~?|!=)\s*"([^"]*)"/g)].map((m) => m[2]);
      expect(jobs.length, expr).toBeGreaterThan(0);
      for (const job of jobs) expect(job, expr).toBe(service.metadata!.name);
    }
    const names = groups.flatMap((g) => (g.rules ?? []).map((r) => r.alert));
    expect(new Set(names).size).toBe(names.length);
    for (const rule of groups.flatMap((g) => g.rules ?? [])) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it('the dashboard ConfigMap carries grafana-dashboard.json verbatim, labelled for the Grafana sidecar', () => {
    const configMap = find<IConfigMap>(objects, 'ConfigMap');
    expect(configMap.metadata!.labels?.grafana_dashboard).toBe('1');
    expect(configMap.data).toEqual({
      'grafana-dashboard.json': read('k8s/monitoring/grafana-dashboard.json'),
    });
    const dashboard = JSON.parse(configMap.data!['grafana-dashboard.json']!) as {
      uid: string;
      panels: {
        id: number;
        type: string;
        targets?: { expr: string; refId: string; datasource: unknown }[];
      }[];
      templating: { list: { name: string; type: string }[] };
    };
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, String(panel.id)).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) {
        expect(t.expr).toBeTruthy();
        expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });
});

describe('the managed-redis overlay documents REDIS_CLUSTER', () => {
  it('mentions REDIS_CLUSTER, which the code reads', () => {
    expect(read('k8s/overlays/managed-redis/config-patch.yaml')).toMatch(/REDIS_CLUSTER:/);
    expect(codeEnvNames()).toContain('REDIS_CLUSTER');
  });
});

describe('Dockerfile', () => {
  const stages = dockerStages();
  const stage = (name: string): Instruction[] => {
    const found = stages.find((st) => new RegExp(`\\sAS\\s+${name}$`, 'i').test(st[0]!.args));
    if (!found) throw new Error(`the Dockerfile has no stage named ${name}`);
    return found;
  };
  const final = stages.at(-1)!;
  const args = (st: Instruction[], op: string): string[] => st.filter((i) => i.op === op).map((i) => i.args);
  const runs = (st: Instruction[]): string => args(st, 'RUN').join('\n');
  const before = (
    st: Instruction[],
    first: (i: Instruction) => boolean,
    then: (i: Instruction) => boolean,
  ): boolean => {
    const a = st.findIndex(first);
    const b = st.findIndex(then);
    return a >= 0 && b > a;
  };

  it('is multi-stage: manifests, a build with npm ci + npm run build, a runtime with production dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.every((st) => /node:20/.test(st[0]!.args) || /\$\{NODE_IMAGE\}/.test(st[0]!.args))).toBe(
      true,
    );
    expect(read('Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:20-(slim|alpine)$/m);
    expect(runs(stage('build'))).toMatch(/npm ci\b/);
    expect(runs(stage('build'))).toMatch(/npm run build\b/);
    expect(runs(final)).toMatch(/npm ci --omit=dev\b/);
    expect(runs(final)).not.toMatch(/npm run build|npm ci(?! --omit=dev)/);
    expect(args(final, 'ENV').join(' ')).toMatch(/NODE_ENV=production/);
  });

  it('installs from the manifests of every workspace, whatever packages there are, before copying sources', () => {
    // The manifests stage keeps only packages/*/package.json: a new workspace package needs no Dockerfile edit.
    expect(args(stage('manifests'), 'COPY')).toContain('packages ./packages');
    expect(runs(stage('manifests'))).toContain('! -name package.json');
    for (const st of [stage('build'), final]) {
      expect(args(st, 'COPY')).toContain('package.json package-lock.json ./');
      expect(
        before(
          st,
          (i) => i.op === 'COPY' && i.args === '--from=manifests /app/packages ./packages',
          (i) => i.op === 'RUN' && /npm ci\b/.test(i.args),
        ),
      ).toBe(true);
    }
    expect(
      before(
        stage('build'),
        (i) => i.op === 'RUN' && /npm ci\b/.test(i.args),
        (i) => i.op === 'COPY' && i.args === 'packages ./packages',
      ),
    ).toBe(true);
    // The runtime gets what each package publishes (its "files"), laid out by the build stage in /out.
    expect(runs(stage('build'))).toMatch(/manifest\.files/);
    expect(args(final, 'COPY')).toContain('--from=build /out/packages ./packages');
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    expect(workspaces).toEqual(['packages/*']);
  });

  it('runs as a non-root user, exposes PORT, checks /healthz and enters the io-session CLI', () => {
    const user = args(final, 'USER')[0];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(args(final, 'EXPOSE')).toEqual(['3000']);
    expect(args(final, 'ENV').join(' ')).toMatch(/PORT=3000/);
    expect(args(final, 'HEALTHCHECK').join(' ')).toContain('/healthz');
    const entrypoint = JSON.parse(args(final, 'ENTRYPOINT')[0]!) as string[];
    expect(entrypoint).toEqual(['node', 'packages/server/dist/cli.js']);
    // dist/cli.js is what the server's build makes of src/cli.ts, and what its package.json publishes as a bin.
    const server = JSON.parse(read('packages/server/package.json')) as {
      bin: Record<string, string>;
      files: string[];
    };
    expect(join('packages/server', server.bin['io-session']!)).toBe(entrypoint[1]);
    expect(server.files).toContain('dist');
    const tsconfig = JSON.parse(read('packages/server/tsconfig.json')) as {
      compilerOptions: Record<string, string>;
    };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(() => read('packages/server/src/cli.ts')).not.toThrow();
    const cmd = JSON.parse(args(final, 'CMD')[0]!) as string[];
    expect(cmd).toEqual(['node']);
    expect(cliCommands()).toContain(cmd[0]);
  });

  it('.dockerignore keeps node_modules, build output and the tests out of the context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', 'test']) expect(ignored).toContain(entry);
  });
});

describe('docker-compose.yml', () => {
  it('Redis 7 with AOF, noeviction and a healthcheck', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    const command = redis.command!.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.healthcheck?.test).toContain('ping');
  });

  it('three nodes with distinct NODE_IDs and one shared configuration, stopped slower than they drain', () => {
    expect(nodeServices.map(([name]) => name)).toEqual(['node1', 'node2', 'node3']);
    const envs = nodeServices.map(([, s]) => envOf(s));
    expect(new Set(envs.map((e) => e.NODE_ID)).size).toBe(3);
    for (const shared of ['REDIS_URL', 'KEY_PREFIX', 'API_KEY', 'AUTH', 'AUTH_SECRET', 'PORT', 'DRAIN_MS']) {
      expect(new Set(envs.map((e) => e[shared])).size, shared).toBe(1);
      expect(envs[0]![shared], shared).toBeTruthy();
    }
    expect(envs[0]!.API_KEY!.length).toBeGreaterThanOrEqual(16);
    expect(envs[0]!.AUTH_SECRET!.length).toBeGreaterThanOrEqual(32);
    expect(new URL(envs[0]!.REDIS_URL!).hostname).toBe('redis');
    for (const [, s] of nodeServices) {
      expect(seconds(s.stop_grace_period ?? '10s')).toBeGreaterThan(
        Number(envOf(s).DRAIN_MS) / 1000 + GRACE_MARGIN_S,
      );
      expect(s.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    }
  });

  it('one worker on the same image running `io-session worker`, with the same Redis and prefix', () => {
    expect(workerServices).toHaveLength(1);
    const [, worker] = workerServices[0]!;
    expect(worker.image).toBe(nodeServices[0]![1].image);
    expect(worker.healthcheck?.disable).toBe(true);
    expect(envOf(worker).REDIS_URL).toBe(envOf(nodeServices[0]![1]).REDIS_URL);
    expect(envOf(worker).KEY_PREFIX).toBe(envOf(nodeServices[0]![1]).KEY_PREFIX);
    expect(cliCommands()).toContain('worker');
  });

  it('every env name given to a node or the worker is one the code reads', () => {
    const known = codeEnvNames();
    const given = ourServices.flatMap(([, s]) => Object.keys(s.environment ?? {}));
    expect(given.filter((n) => !known.has(n) && !RUNTIME_ENV.has(n))).toEqual([]);
  });

  it('HAProxy mounts deploy/haproxy/haproxy.cfg, whose servers are the node services on their PORT', () => {
    const haproxy = compose.services.haproxy!;
    expect(haproxy.image).toMatch(/^haproxy:/);
    expect(haproxy.volumes).toContain('./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const cfg = readFileSync(HAPROXY_CFG_PATH, 'utf8');
    const servers = [...cfg.matchAll(/^\s*server\s+(\S+)\s+([^:\s]+):(\d+)/gm)].map((m) => `${m[2]}:${m[3]}`);
    expect(servers).toEqual(nodeServices.map(([name, s]) => `${name}:${envOf(s).PORT}`));
    const binds = [...cfg.matchAll(/^\s*bind\s+:(\d+)/gm)].map((m) => m[1]);
    for (const bind of binds) expect(haproxy.ports).toContain(`${bind}:${bind}`);
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  const cfg = readFileSync(HAPROXY_CFG_PATH, 'utf8');
  const directives = cfg
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);

  it('health-checks GET /readyz, passes WebSockets and sticks long-polling by cookie', () => {
    expect(directives).toContain('option httpchk GET /readyz');
    expect(directives).toContain('http-check expect status 200');
    expect(directives.some((d) => /^default-server\b.*\bcheck\b/.test(d))).toBe(true);
    expect(directives.some((d) => /^timeout tunnel \d+[smh]$/.test(d))).toBe(true);
    expect(directives.some((d) => /^cookie SERVERID insert indirect nocache\b/.test(d))).toBe(true);
    expect(directives.filter((d) => d.startsWith('server ')).every((d) => /\bcookie \S+/.test(d))).toBe(true);
    expect(directives).toContain('option redispatch');
    // The node drains its own clients: HAProxy must not cut them when it marks the node down.
    expect(cfg).not.toMatch(/^\s*[^#\n]*on-marked-down\s+shutdown-sessions/m);
  });

  it('the node serves the path HAProxy checks', () => {
    expect(servedGetPaths()).toContain('/readyz');
  });

  it.skipIf(!haproxyInstalled())(
    '`haproxy -c` accepts it, and the loopback version the cluster tests run',
    () => {
      const deployed = haproxyCheck(HAPROXY_CFG_PATH);
      expect(deployed.output).toContain('Configuration file is valid');
      expect(deployed.ok).toBe(true);

      const dir = mkdtempSync(join(tmpdir(), 'ios-haproxy-check-'));
      try {
        const path = join(dir, 'haproxy.cfg');
        writeFileSync(
          path,
          haproxyTestConfig(cfg, {
            frontendPort: 18080,
            statsPort: 18404,
            servers: [
              { name: 'node1', port: 13001 },
              { name: 'node2', port: 13002 },
            ],
          }),
        );
        const test = haproxyCheck(path);
        expect(test.output).not.toMatch(/WARNING|ALERT/);
        expect(test.ok).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('haproxyTestConfig (the cluster tests run the deployed file)', () => {
  it('changes only binds, check timings and servers', () => {
    const cfg = readFileSync(HAPROXY_CFG_PATH, 'utf8');
    const out = haproxyTestConfig(cfg, { frontendPort: 1, statsPort: 2, servers: [{ name: 'a', port: 3 }] });
    expect(out).toMatch(/^\s*bind 127\.0\.0\.1:1$/m);
    expect(out).toMatch(/^\s*bind 127\.0\.0\.1:2$/m);
    expect(out).toMatch(/^\s*server a 127\.0\.0\.1:3 cookie a$/m);
    expect(out).toMatch(/^\s*default-server inter 200ms fall 1 rise 1 check$/m);
    expect(out).not.toMatch(/resolvers/);
    const keep = (text: string): string[] =>
      text
        .replace(/^resolvers[^]*?\n(?=\S)/m, '')
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^\s*(bind|server|default-server)\s/.test(l));
    expect(keep(out)).toEqual(keep(cfg));
    expect(dirname(HAPROXY_CFG_PATH)).toBe(join(ROOT, 'deploy', 'haproxy'));
  });
});
