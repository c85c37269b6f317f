import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, SECRET_VARIABLES } from '@app/config';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * What users copy to deploy: the Kubernetes kustomization, the compose stack and the Grafana
 * dashboard, checked by a schema validator, against each other, and against the running service.
 */
const root = join(__dirname, '..');
const repoPath = (...parts: string[]) => join(root, ...parts);
const readYaml = (path: string): any => parse(readFileSync(repoPath(path), 'utf8'));

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: any;
};

function kustomizationResources(): Manifest[] {
  const kustomization = readYaml('deploy/k8s/kustomization.yaml');
  return (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(repoPath('deploy/k8s', file), 'utf8')).map(
      (doc) => doc.toJS() as Manifest,
    ),
  );
}

function runValidator(...targets: string[]) {
  const run = spawnSync(process.execPath, [repoPath('deploy/tools/validate-k8s.mjs'), ...targets], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const report =
    run.stdout.trim() === ''
      ? []
      : (JSON.parse(run.stdout) as { file: string; kind?: string; name?: string; errors: string[] }[]);
  return { status: run.status, report, stderr: run.stderr };
}

/** Docker/Go durations as compose writes them: 1m30s, 15s, 500ms. */
function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join('')).toBe(text);
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

/** Variable names .env.example documents, with the value of the uncommented ones. */
function envExample(): Map<string, string | undefined> {
  const names = new Map<string, string | undefined>();
  for (const line of readFileSync(repoPath('.env.example'), 'utf8').split('\n')) {
    const set = /^([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    const commented = /^#\s*([A-Z][A-Z0-9_]+)=/.exec(line);
    if (set) names.set(set[1], set[2]);
    else if (commented && !names.has(commented[1])) names.set(commented[1], undefined);
  }
  return names;
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const resources = kustomizationResources();
  const one = (kind: string) => {
    const found = resources.filter((r) => r.kind === kind);
    expect(found).toHaveLength(1);
    return found[0];
  };
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('every resource passes the Kubernetes and Prometheus Operator schemas (kubernetes-models)', () => {
    const { status, report, stderr } = runValidator(repoPath('deploy/k8s'));
    expect({ status, failures: report.filter((r) => r.errors.length > 0), stderr }).toEqual({
      status: 0,
      failures: [],
      stderr: '',
    });
    expect(report.map((r) => r.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PersistentVolumeClaim',
      'PrometheusRule',
      'Secret',
      'Service',
      'ServiceMonitor',
    ]);
  });

  it('the schema validator rejects a broken manifest and an unknown kind (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-bad-'));
    try {
      const broken = structuredClone(deployment);
      broken.spec.replicas = 'one';
      broken.spec.template.spec.containers[0].securityContext.runAsUser = 'node';
      writeFileSync(join(dir, 'broken.yaml'), JSON.stringify(broken));
      writeFileSync(
        join(dir, 'unknown.yaml'),
        'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: x\n',
      );
      const { status, report } = runValidator(join(dir, 'broken.yaml'), join(dir, 'unknown.yaml'));
      expect(status).toBe(1);
      expect(report[0].errors.join(' ')).toMatch(/spec\/replicas must be integer/);
      expect(report[0].errors.join(' ')).toMatch(/runAsUser must be integer/);
      expect(report[1].errors.join(' ')).toMatch(/no schema here for apiVersion example.com\/v1 kind Gadget/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // kubectl is optional (not in Debian's main archive); the check runs wherever it is installed.
  const kubectl = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']
    .map((d) => join(d, 'kubectl'))
    .find((p) => existsSync(p));
  (kubectl === undefined ? it.skip : it)(
    'kustomize (kubectl kustomize) renders the kustomization, and the rendered resources pass the schemas',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'k8s-rendered-'));
      try {
        const render = spawnSync(kubectl!, ['kustomize', repoPath('deploy/k8s')], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect({ status: render.status, stderr: render.stderr }).toEqual({ status: 0, stderr: '' });
        writeFileSync(join(dir, 'rendered.yaml'), render.stdout);
        const { status, report } = runValidator(join(dir, 'rendered.yaml'));
        expect({ status, failures: report.filter((r) => r.errors.length > 0) }).toEqual({
          status: 0,
          failures: [],
        });
        expect(report).toHaveLength(7);
        const rendered = parseAllDocuments(render.stdout).map((d) => d.toJS() as Manifest);
        expect(
          rendered.every((r) => r.metadata.labels?.['app.kubernetes.io/part-of'] === 'mt5-trading-runtime'),
        ).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs exactly one replica with the Recreate strategy, so two pods never trade one account', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(pod.containers).toHaveLength(1);
  });

  it('probes /health/live and /health/ready on the service port, with a grace period above the 10 s stop', () => {
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    const env = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    expect(port.containerPort).toBe(Number(env.PORT));
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.startupProbe.httpGet.path).toMatch(/^\/health\//);
    // The startup probe must allow for a slow start before liveness may kill the pod.
    expect(
      container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
    ).toBeGreaterThanOrEqual(30);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('runs as the non-root node user (1000) with a read-only root filesystem and no privileges', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ['ALL'] },
    });
    // The Dockerfile's runtime user is that same user.
    expect(readFileSync(repoPath('Dockerfile'), 'utf8')).toMatch(/^USER (node|1000(:1000)?)$/m);
  });

  it('keeps STATE_DIR on a ReadWriteOnce PersistentVolumeClaim and /tmp on an emptyDir', () => {
    const pvc = one('PersistentVolumeClaim');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    const env = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    const volumeAt = (mountPath: string) => {
      const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === mountPath);
      expect(mount).toBeDefined();
      return pod.volumes.find((v: { name: string }) => v.name === mount.name);
    };
    expect(volumeAt(env.STATE_DIR).persistentVolumeClaim).toEqual({ claimName: pvc.metadata.name });
    expect(volumeAt('/tmp').emptyDir).toBeDefined();
  });

  it('ConfigMap and Secret make a configuration the service accepts, secrets only in the Secret', () => {
    const configMap = one('ConfigMap');
    const secret = one('Secret');
    const refs = (
      container.envFrom as { configMapRef?: { name: string }; secretRef?: { name: string } }[]
    ).map((e) => e.configMapRef?.name ?? e.secretRef?.name);
    expect(refs).toEqual([configMap.metadata.name, secret.metadata.name]);

    expect(Object.keys(secret.stringData).sort()).toEqual([...SECRET_VARIABLES].sort());
    expect(
      Object.keys(configMap.data).filter((k) => (SECRET_VARIABLES as readonly string[]).includes(k)),
    ).toEqual([]);
    // A misspelt variable would be ignored silently by the service: every name must be a documented one.
    const documented = envExample();
    expect(Object.keys(configMap.data).filter((k) => !documented.has(k))).toEqual([]);
    // Values are the documented defaults, except those the manifest sets on purpose.
    const differing = Object.entries(configMap.data as Record<string, string>).filter(
      ([k, v]) => documented.get(k) !== undefined && documented.get(k) !== v,
    );
    expect(differing).toEqual([]);

    const env = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    const loaded = loadConfig({ ...configMap.data, ...secret.stringData, ...env });
    expect(loaded).toMatchObject({ ok: true });
    if (loaded.ok) {
      expect(loaded.config.stateDir).toBe('/data');
      expect(loaded.config.debugFaults).toBe(false);
    }
  });

  it('the Service and ServiceMonitor select the Deployment and scrape /metrics on its http port', () => {
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    const service = one('Service');
    const monitor = one('ServiceMonitor');
    expect(Object.entries(deployment.spec.selector.matchLabels).every(([k, v]) => podLabels[k] === v)).toBe(
      true,
    );
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'http', targetPort: 'http' }));
    expect(
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v),
    ).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });

  it('the PrometheusRule carries exactly the rules of deploy/prometheus/trading-bot.rules.yml', () => {
    const rule = one('PrometheusRule');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    const repositoryRules = readYaml('deploy/prometheus/trading-bot.rules.yml');
    expect(rule.spec).toEqual({ groups: repositoryRules.groups });
  });
});

/** Every document of the resources a kustomization directory lists (no rendering). */
function resourcesOf(dir: string): Manifest[] {
  const kustomization = readYaml(posix.join(dir, 'kustomization.yaml'));
  return (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(repoPath(dir, file), 'utf8')).map((doc) => doc.toJS() as Manifest),
  );
}

describe('Kubernetes manifests for several replicas on PostgreSQL (deploy/k8s-postgres)', () => {
  const resources = resourcesOf('deploy/k8s-postgres');
  const databaseResources = resourcesOf('deploy/k8s-postgres/database');
  const named = (kind: string, name?: string) => {
    const found = resources.filter(
      (r) => r.kind === kind && (name === undefined || r.metadata.name === name),
    );
    expect(found).toHaveLength(1);
    return found[0];
  };
  const deployment = named('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  const selects = (selector: Record<string, string>) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  const envFromNames = () =>
    (container.envFrom as { configMapRef?: { name: string }; secretRef?: { name: string } }[]).map((e) =>
      e.configMapRef !== undefined ? { configMap: e.configMapRef.name } : { secret: e.secretRef?.name },
    );
  const configMap = named('ConfigMap', envFromNames().find((e) => 'configMap' in e)!.configMap);
  const secret = named('Secret', envFromNames().find((e) => 'secret' in e)!.secret);
  const volumeAt = (mountPath: string) => {
    const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === mountPath);
    expect({ mountPath, mounted: mount !== undefined }).toEqual({ mountPath, mounted: true });
    return pod.volumes.find((v: { name: string }) => v.name === mount.name);
  };
  /** The accounts file the pods read: ACCOUNTS_FILE, from the ConfigMap mounted at its directory. */
  const accountsFile = () => {
    const path = configMap.data.ACCOUNTS_FILE as string;
    const volume = volumeAt(posix.dirname(path));
    const source = named('ConfigMap', volume.configMap.name);
    const text = source.data[posix.basename(path)] as string;
    expect(typeof text).toBe('string');
    return { path, text, parsed: parse(text) as { accounts: { bridge?: { secret_env?: string } }[] } };
  };
  const bridgeSecretNames = () =>
    accountsFile().parsed.accounts.flatMap((a) =>
      a.bridge?.secret_env === undefined ? [] : [a.bridge.secret_env],
    );
  /** The container's environment as the kubelet makes it, with `podName` for the pod's name. */
  const literalEnv = (podName: string) =>
    Object.fromEntries(
      (container.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => {
        if (e.value !== undefined) return [e.name, e.value];
        expect(e.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
        return [e.name, podName];
      }),
    );

  it('every resource, and the CloudNativePG Cluster, passes its schema', () => {
    const { status, report, stderr } = runValidator(
      repoPath('deploy/k8s-postgres'),
      repoPath('deploy/k8s-postgres/database'),
    );
    expect({ status, failures: report.filter((r) => r.errors.length > 0), stderr }).toEqual({
      status: 0,
      failures: [],
      stderr: '',
    });
    expect(report.map((r) => r.kind).sort()).toEqual([
      'Cluster',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Secret',
      'Service',
      'ServiceMonitor',
    ]);
  });

  it('the validator rejects a broken Cluster and a broken PodDisruptionBudget (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-pg-bad-'));
    try {
      const cluster = structuredClone(databaseResources.find((r) => r.kind === 'Cluster')!);
      cluster.spec.instances = 0;
      delete cluster.spec.storage.size;
      delete cluster.spec.bootstrap.initdb.owner;
      const budget = structuredClone(named('PodDisruptionBudget'));
      budget.spec.selector = 'all';
      writeFileSync(join(dir, 'cluster.yaml'), JSON.stringify(cluster));
      writeFileSync(join(dir, 'budget.yaml'), JSON.stringify(budget));
      const { status, report } = runValidator(join(dir, 'cluster.yaml'), join(dir, 'budget.yaml'));
      expect(status).toBe(1);
      expect(report[0].errors).toEqual([
        expect.stringMatching(/^spec\/instances: .*>=1/),
        expect.stringMatching(/^spec\/storage\/size: /),
        expect.stringMatching(/^spec\/bootstrap\/initdb\/owner: /),
      ]);
      expect(report[1].errors.join(' ')).toMatch(/spec\/selector must be object/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const kubectl = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']
    .map((d) => join(d, 'kubectl'))
    .find((p) => existsSync(p));
  (kubectl === undefined ? it.skip : it)(
    'kustomize renders both kustomizations, and the rendered resources pass the schemas',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'k8s-pg-rendered-'));
      try {
        const rendered = ['deploy/k8s-postgres', 'deploy/k8s-postgres/database'].map((path) => {
          const render = spawnSync(kubectl!, ['kustomize', repoPath(path)], {
            encoding: 'utf8',
            timeout: 30_000,
          });
          expect({ path, status: render.status, stderr: render.stderr }).toEqual({
            path,
            status: 0,
            stderr: '',
          });
          return render.stdout;
        });
        writeFileSync(join(dir, 'rendered.yaml'), rendered.join('---\n'));
        const { status, report } = runValidator(join(dir, 'rendered.yaml'));
        expect({ status, failures: report.filter((r) => r.errors.length > 0) }).toEqual({
          status: 0,
          failures: [],
        });
        expect(report).toHaveLength(resources.length + databaseResources.length);
        const manifests = rendered.flatMap((text) =>
          parseAllDocuments(text).map((d) => d.toJS() as Manifest),
        );
        expect(
          manifests.every((r) => r.metadata.labels?.['app.kubernetes.io/part-of'] === 'mt5-trading-runtime'),
        ).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs several replicas with a rolling update, spread over nodes, with a grace period above the 10 s handover', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 1 },
    });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
    const antiAffinity = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(antiAffinity).toHaveLength(1);
    expect(antiAffinity[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(selects(antiAffinity[0].podAffinityTerm.labelSelector.matchLabels)).toBe(true);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
  });

  it('has the probes, security context and resources of the one-process Deployment', () => {
    const single = kustomizationResources().find((r) => r.kind === 'Deployment')!.spec.template.spec;
    const singleContainer = single.containers[0];
    for (const field of [
      'livenessProbe',
      'readinessProbe',
      'startupProbe',
      'resources',
      'securityContext',
      'ports',
    ])
      expect({ field, value: container[field] }).toEqual({ field, value: singleContainer[field] });
    expect(pod.securityContext).toEqual(single.securityContext);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers).toHaveLength(1);
  });

  it('keeps STATE_DIR and /tmp on emptyDirs (per process, not shared) and claims no volume', () => {
    const env = literalEnv('trading-bot-0');
    expect(env.STATE_DIR).toBe('/data');
    expect(volumeAt(env.STATE_DIR).emptyDir).toBeDefined();
    expect(volumeAt('/tmp').emptyDir).toBeDefined();
    expect(resources.filter((r) => r.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(pod.volumes.filter((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim)).toEqual(
      [],
    );
  });

  it("a PodDisruptionBudget selects the Deployment's pods and keeps all but one running", () => {
    const budget = named('PodDisruptionBudget');
    expect(selects(budget.spec.selector.matchLabels)).toBe(true);
    const allowedDown =
      budget.spec.maxUnavailable ?? deployment.spec.replicas - (budget.spec.minAvailable as number);
    expect(allowedDown).toBe(1);
  });

  it('DATABASE_URL and every other secret come only from the Secret, which ships them empty', () => {
    expect(envFromNames()).toEqual([
      { configMap: configMap.metadata.name },
      { secret: secret.metadata.name },
    ]);
    const secretNames = ['DATABASE_URL', 'ADMIN_TOKEN', 'SIGNALS_HMAC_SECRET', ...bridgeSecretNames()];
    expect(Object.keys(secret.stringData).sort()).toEqual([...secretNames].sort());
    expect(Object.values(secret.stringData).every((v) => v === '')).toBe(true);
    expect(secret.data).toBeUndefined();
    const everySecret = [...secretNames, ...SECRET_VARIABLES];
    for (const source of resources.filter((r) => r.kind === 'ConfigMap'))
      expect(Object.keys(source.data).filter((k) => everySecret.includes(k))).toEqual([]);
    // Not set literally in the Deployment either (an env entry would win over the Secret).
    const literal = (container.env as { name: string }[]).map((e) => e.name);
    expect(literal.filter((name) => everySecret.includes(name))).toEqual([]);
    // The accounts file names its bridge secrets, never holds them.
    expect(accountsFile().text).not.toMatch(/\bsecret:/);
  });

  it('ConfigMap, accounts file and Secret make a postgres configuration the service accepts; empty secrets are refused by name', () => {
    const { path, text, parsed } = accountsFile();
    const files = {
      readText: (file: string) => {
        if (file === path) return text;
        throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      },
    };
    const cluster = databaseResources.find((r) => r.kind === 'Cluster')!;
    const { database, owner } = cluster.spec.bootstrap.initdb;
    // Test values only: the URL of the example cluster's -rw Service, as its operator writes it.
    const testSecrets: Record<string, string> = {
      DATABASE_URL: `postgresql://${owner}:test-password@${cluster.metadata.name}-rw.trading:5432/${database}`,
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      SIGNALS_HMAC_SECRET: 'test-hmac-secret-0123456789',
      ...Object.fromEntries(bridgeSecretNames().map((name) => [name, `test-bridge-secret-${name}`])),
    };
    expect(Object.keys(testSecrets).sort()).toEqual(Object.keys(secret.stringData).sort());
    const env = literalEnv('trading-bot-7d9f8b6c5d-x2x9q');

    const loaded = loadConfig({ ...configMap.data, ...secret.stringData, ...testSecrets, ...env }, files);
    expect(loaded).toMatchObject({ ok: true, warnings: [] });
    if (!loaded.ok) return;
    expect(loaded.config.stateBackend).toEqual({
      kind: 'postgres',
      databaseUrl: testSecrets.DATABASE_URL,
      poolSize: Number(configMap.data.DATABASE_POOL_SIZE),
      leaseTtlMs: Number(configMap.data.LEASE_TTL_MS),
      leaseRenewMs: Number(configMap.data.LEASE_RENEW_MS),
    });
    expect(loaded.config.closeOnShutdown).toBe(false);
    expect(loaded.config.loopId).toBe('trading-bot-7d9f8b6c5d-x2x9q');
    expect(loaded.config.stateDir).toBe('/data');
    expect(loaded.config.debugFaults).toBe(false);
    // Bridge accounts only: a paper account's book would not follow it to another replica.
    expect(loaded.config.accounts.length).toBe(parsed.accounts.length);
    expect(loaded.config.accounts.length).toBeGreaterThanOrEqual(2);
    expect(loaded.config.accounts.every((a) => a.gateway === 'http' && a.bridge !== undefined)).toBe(true);

    // As shipped (empty Secret), a replica refuses to start and names what is missing.
    const shipped = loadConfig({ ...configMap.data, ...secret.stringData, ...env }, files);
    expect(shipped.ok).toBe(false);
    if (shipped.ok) return;
    const missing = shipped.problems.map((p) => (p.key === undefined ? p.variable : `${p.account}.${p.key}`));
    expect(missing).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'SIGNALS_HMAC_SECRET',
        ...parsed.accounts.map((a) => `${(a as { id: string }).id}.bridge.secret_env`),
      ]),
    );

    // Every ConfigMap key is a documented variable; only the mode's own choices differ from the defaults.
    const documented = envExample();
    expect(Object.keys(configMap.data).filter((k) => !documented.has(k))).toEqual([]);
    const differing = Object.entries(configMap.data as Record<string, string>)
      .filter(([k, v]) => documented.get(k) !== undefined && documented.get(k) !== v)
      .map(([k]) => k);
    expect(differing.sort()).toEqual(['CLOSE_ON_SHUTDOWN', 'STATE_BACKEND']);
  });

  it('the Service and ServiceMonitor select the pods, and are those of deploy/k8s, as is the PrometheusRule', () => {
    const service = named('Service');
    const monitor = named('ServiceMonitor');
    expect(selects(service.spec.selector)).toBe(true);
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'http', targetPort: 'http' }));
    expect(
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v),
    ).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    const single = kustomizationResources();
    for (const kind of ['Service', 'ServiceMonitor', 'PrometheusRule'])
      expect({ kind, resource: named(kind) }).toEqual({
        kind,
        resource: single.find((r) => r.kind === kind),
      });
    expect(named('PrometheusRule').spec).toEqual({
      groups: readYaml('deploy/prometheus/trading-bot.rules.yml').groups,
    });
  });

  it('the example CloudNativePG Cluster runs 3 instances with storage and creates the database and its owner', () => {
    expect(databaseResources).toHaveLength(1);
    const cluster = databaseResources[0];
    expect(cluster).toMatchObject({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster' });
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.storage.size).toMatch(/^\d+Gi$/);
    expect(cluster.spec.bootstrap.initdb).toEqual({
      database: expect.any(String),
      owner: expect.any(String),
    });
    // Replicas x (pool + the listening connection) fit the server's connections.
    const perReplica = Number(configMap.data.DATABASE_POOL_SIZE) + 1;
    expect(deployment.spec.replicas * perReplica).toBeLessThan(
      Number(cluster.spec.postgresql.parameters.max_connections),
    );
  });
});

describe('docker compose stack (docker-compose.yml)', () => {
  const compose = readYaml('docker-compose.yml');
  const services = compose.services as Record<string, any>;
  /** Bind mounts `./source:target[:ro]` of a service, sources resolved in the repository. */
  const binds = (service: string) =>
    (services[service].volumes as string[])
      .filter((v) => v.startsWith('./'))
      .map((v) => {
        const [source, target] = v.split(':');
        return { source: repoPath(source), target };
      });

  it('runs the bot in paper mode, Prometheus and Grafana, with a stop grace period above the 10 s stop', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'prometheus', 'trading-bot']);
    const bot = services['trading-bot'];
    expect(bot.build).toBe('.');
    expect(bot.environment).toMatchObject({ MT5_GATEWAY: 'paper', STATE_DIR: '/data' });
    expect(durationSeconds(bot.stop_grace_period)).toBeGreaterThan(10);
    expect(bot.volumes).toContain('bot-state:/data');
    expect(bot.deploy?.replicas ?? 1).toBe(1);
    expect(services.prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    expect(services.grafana.image).toMatch(/^grafana\/grafana:\d/);
  });

  it('every bind mount exists in the repository and every named volume is declared', () => {
    for (const service of Object.keys(services)) {
      for (const { source } of binds(service))
        expect({ service, source, exists: existsSync(source) }).toEqual({ service, source, exists: true });
      const named = ((services[service].volumes ?? []) as string[])
        .filter((v) => !v.startsWith('./'))
        .map((v) => v.split(':')[0]);
      for (const volume of named) expect(Object.keys(compose.volumes)).toContain(volume);
    }
  });

  it("Prometheus scrapes the bot's port and loads the repository's rule file", () => {
    const mounts = binds('prometheus');
    const configMount = mounts.find((m) => m.target === '/etc/prometheus/prometheus.yml')!;
    expect(services.prometheus.command).toContain(`--config.file=${configMount.target}`);
    const config = parse(readFileSync(configMount.source, 'utf8'));
    const ruleTargets = config.rule_files as string[];
    const ruleMounts = mounts.filter((m) => ruleTargets.includes(m.target));
    expect(ruleMounts.map((m) => m.source)).toEqual([repoPath('deploy/prometheus/trading-bot.rules.yml')]);
    const targets = (config.scrape_configs as any[]).flatMap((s) =>
      s.static_configs.flatMap((c: { targets: string[] }) => c.targets),
    );
    expect(targets).toEqual([`trading-bot:${services['trading-bot'].environment.PORT}`]);
  });

  it('Grafana gets the Prometheus datasource and the repository dashboard provisioned', () => {
    const mounts = binds('grafana');
    const provisioned = (kind: string) =>
      mounts.find((m) => m.target === `/etc/grafana/provisioning/${kind}`)!;
    const datasources = readdirYaml(provisioned('datasources').source).flatMap((d) => d.datasources);
    expect(datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }),
    ]);
    expect(services.prometheus.ports).toContain('9090:9090');

    const providers = readdirYaml(provisioned('dashboards').source).flatMap((d) => d.providers);
    const dashboardDirs = providers.map((p: { options: { path: string } }) => p.options.path);
    const dashboardMount = mounts.find(
      (m) => m.source === repoPath('deploy/grafana/trading-bot.dashboard.json'),
    )!;
    expect(dashboardDirs).toContain(posix.dirname(dashboardMount.target));
  });
});

function readdirYaml(dir: string): any[] {
  expect(statSync(dir).isDirectory()).toBe(true);
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')));
}

describe('Grafana dashboard (deploy/grafana/trading-bot.dashboard.json)', () => {
  const dashboard = JSON.parse(readFileSync(repoPath('deploy/grafana/trading-bot.dashboard.json'), 'utf8'));
  const expressions: string[] = (dashboard.panels as { targets?: { expr: string }[] }[]).flatMap((p) =>
    (p.targets ?? []).map((t) => t.expr),
  );
  const metricNames = [...new Set(expressions.flatMap((e) => e.match(/\btrading_[a-zA-Z0-9_]+/g) ?? []))];
  let t: TestApp;
  let exposition: string;

  beforeAll(async () => {
    t = await startTestApp({ HEARTBEAT_INTERVAL_MS: '100', PAPER_SEED: '11' });
    // One signal through to a fill, so the latency histograms have observations.
    const body = signalBody();
    expect((await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body)).status).toBe(202);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    await t.waitForEvent('heartbeat');
    const response = await fetch(`${t.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    exposition = await response.text();
  });
  afterAll(() => t?.close());

  it('shows what operators need: heartbeat age, equity, drawdown against the cap, halted, latency percentiles, throughput, errors, positions', () => {
    const all = expressions.join('\n');
    expect(all).toContain('time() - trading_heartbeat_timestamp_seconds');
    for (const name of [
      'trading_equity',
      'trading_drawdown_percent',
      'trading_drawdown_cap_percent',
      'trading_halted',
      'trading_open_positions',
      'trading_signals_total',
      'trading_errors_total',
    ]) {
      expect(metricNames).toContain(name);
    }
    for (const q of ['0.5', '0.95', '0.99'])
      expect(all).toContain(
        `histogram_quantile(${q}, sum by (le) (rate(trading_signal_latency_seconds_bucket`,
      );
    // Every panel queries the dashboard's datasource variable, so it works with any Prometheus.
    for (const panel of dashboard.panels)
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it('references only metrics the running service exports (histogram series with samples)', () => {
    const types = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const sampled = new Set([...exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]));
    expect(metricNames.length).toBeGreaterThanOrEqual(10);
    const familyOf = (name: string) => {
      if (types.has(name)) return name;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return ['histogram', 'summary'].includes(types.get(base) ?? '') ? base : undefined;
    };
    expect(metricNames.filter((name) => familyOf(name) === undefined)).toEqual([]);
    // The latency panels read _bucket series: after one fill they must exist, not merely be declared.
    const histogramSeries = metricNames.filter((name) => familyOf(name) !== name);
    expect(histogramSeries.sort()).toEqual([
      'trading_order_execution_seconds_bucket',
      'trading_signal_latency_seconds_bucket',
    ]);
    expect(histogramSeries.filter((name) => !sampled.has(name))).toEqual([]);
  });

  it("the Deployment's probe paths and the ServiceMonitor's path answer on the running service", async () => {
    const resources = kustomizationResources();
    const container = resources.find((r) => r.kind === 'Deployment')!.spec.template.spec.containers[0];
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const answer = await fetch(`${t.baseUrl}${container[probe].httpGet.path}`);
      expect({ probe, status: answer.status }).toEqual({ probe, status: 200 });
    }
    const scrapePath = resources.find((r) => r.kind === 'ServiceMonitor')!.spec.endpoints[0].path;
    const scraped = await fetch(`${t.baseUrl}${scrapePath}`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('# TYPE trading_heartbeat_timestamp_seconds gauge');
  });
});
