/**
 * deploy/kubernetes, rendered with kustomize and checked offline: every object against the
 * Kubernetes and KEDA schemas (kubernetes/schemas.ts), then the fleet's own rules for its
 * workloads. Configuration, network and autoscaling rules: kubernetes-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { fleetRegistry } from '../src/fleet/registry.ts';
import {
  byKind,
  describeObject,
  type K8sObject,
  podLabelsOf,
  podSpecOf,
  renderOverlays,
  selects,
} from './kubernetes/render.ts';
import { schemaErrors, unknownFields } from './kubernetes/schemas.ts';
import { containerEnv, serviceEnvShapes, serviceOf } from './kubernetes/service-env.ts';

const overlays = renderOverlays();
const registry = fleetRegistry();
const shapes = await serviceEnvShapes();

/** The Deployment that runs a registry component, found by its container's command. */
function deploymentOf(objects: K8sObject[], name: string): K8sObject | undefined {
  return byKind(objects, 'Deployment').find((d) =>
    podSpecOf(d).containers.some((c: { args?: string[] }) => serviceOf(c.args) === name),
  );
}

/** The port a process listens on: its port variable as the container sets it, else the default. */
function listenPort(objects: K8sObject[], name: string, container: unknown): number {
  const variable = registry.find((c) => c.name === name)!.portVariable;
  const set = containerEnv(container, objects).get(variable)?.value;
  return Number(set ?? shapes.get(name)![variable]!.parse(undefined));
}

it('has the overlays the deployment guide describes', () => {
  expect(overlays.map(([name]) => name)).toEqual(['dev', 'prod']);
});

describe.each(overlays)('overlay %s', (overlay, objects) => {
  const workloads = objects.filter((o) => podSpecOf(o));

  it('renders only objects valid against the Kubernetes 1.36 and KEDA 2.19 schemas', async () => {
    const invalid: string[] = [];
    for (const o of objects) for (const e of await schemaErrors(o)) invalid.push(`${describeObject(o)}: ${e}`);
    expect(invalid).toEqual([]);
    expect(objects.length).toBeGreaterThan(30);
  });

  it('uses no field the schemas do not know (strict field validation would reject it)', async () => {
    const unknown: string[] = [];
    for (const o of objects) for (const f of await unknownFields(o)) unknown.push(`${describeObject(o)}: ${f}`);
    expect(unknown).toEqual([]);
  });

  it("puts every namespaced object in the overlay's Namespace", () => {
    const [namespace, ...more] = byKind(objects, 'Namespace');
    expect(more).toEqual([]);
    const elsewhere = objects
      .filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace!.metadata.name)
      .map(describeObject);
    expect(elsewhere).toEqual([]);
  });

  it('runs every registry component as exactly one Deployment, and no unknown agent', () => {
    for (const component of registry) {
      const matches = byKind(objects, 'Deployment').filter((d) => d === deploymentOf(objects, component.name));
      expect(matches.length, `${component.name} has no Deployment`).toBe(1);
    }
    const known = new Set([...registry.map((c) => c.name), 'migrate']);
    for (const w of workloads) {
      for (const c of podSpecOf(w).containers) {
        if (c.args?.[0] === 'agent') expect(known.has(c.args[1]), `${describeObject(w)} runs ${c.args[1]}`).toBe(true);
      }
    }
  });

  it('probes /healthz (startup, liveness) and /readyz (readiness) on the port each process serves', () => {
    for (const component of registry) {
      const deployment = deploymentOf(objects, component.name)!;
      const container = podSpecOf(deployment).containers.find(
        (c: { args?: string[] }) => serviceOf(c.args) === component.name,
      );
      const port = listenPort(objects, component.name, container);
      const portOf = (probe: { httpGet: { port: string | number } }) => {
        const p = probe.httpGet.port;
        return typeof p === 'number' ? p : container.ports.find((cp: { name: string }) => cp.name === p)?.containerPort;
      };
      for (const [kind, path] of [
        ['startupProbe', '/healthz'],
        ['livenessProbe', '/healthz'],
        ['readinessProbe', '/readyz'],
      ] as const) {
        expect(container[kind]?.httpGet?.path, `${component.name} ${kind}`).toBe(path);
        expect(portOf(container[kind]), `${component.name} ${kind} port`).toBe(port);
      }
    }
  });

  it('runs every container unprivileged: non-root, read-only root, no capabilities, no escalation, seccomp', () => {
    for (const w of workloads) {
      const pod = podSpecOf(w);
      const name = describeObject(w);
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken, name).toBe(false);
      expect(pod.hostNetwork ?? false, name).toBe(false);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = c.securityContext ?? {};
        expect(sc.runAsUser ?? pod.securityContext.runAsUser, `${name} ${c.name}`).toBeGreaterThan(0);
        expect(sc.runAsNonRoot ?? pod.securityContext.runAsNonRoot, `${name} ${c.name}`).toBe(true);
        expect(sc.readOnlyRootFilesystem, `${name} ${c.name}`).toBe(true);
        expect(sc.allowPrivilegeEscalation, `${name} ${c.name}`).toBe(false);
        expect(sc.privileged ?? false, `${name} ${c.name}`).toBe(false);
        expect(sc.capabilities?.drop, `${name} ${c.name}`).toEqual(['ALL']);
        expect(sc.capabilities?.add ?? [], `${name} ${c.name}`).toEqual([]);
      }
    }
    const [namespace] = byKind(objects, 'Namespace');
    expect(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const [account, ...others] = byKind(objects, 'ServiceAccount');
    expect(others).toEqual([]);
    expect((account as unknown as { automountServiceAccountToken: boolean }).automountServiceAccountToken).toBe(false);
    for (const w of workloads.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'agent-fleet')) {
      expect(podSpecOf(w).serviceAccountName, describeObject(w)).toBe(account!.metadata.name);
    }
  });

  it('gives every process longer to stop than its drain grace (SHUTDOWN_GRACE_MS) plus its preStop', () => {
    for (const component of registry) {
      const pod = podSpecOf(deploymentOf(objects, component.name)!);
      const container = pod.containers.find((c: { args?: string[] }) => serviceOf(c.args) === component.name);
      const set = containerEnv(container, objects).get('SHUTDOWN_GRACE_MS')?.value;
      const graceMs = Number(set ?? shapes.get(component.name)!.SHUTDOWN_GRACE_MS!.parse(undefined));
      const preStop = container.lifecycle?.preStop?.exec?.command;
      const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
      expect(pod.terminationGracePeriodSeconds, component.name).toBeGreaterThanOrEqual(
        graceMs / 1000 + preStopSeconds + 5,
      );
    }
  });

  it('sets CPU and memory requests and a memory limit on every container', () => {
    for (const w of workloads) {
      for (const c of [...(podSpecOf(w).initContainers ?? []), ...podSpecOf(w).containers]) {
        expect(c.resources?.requests?.cpu, `${describeObject(w)} ${c.name}`).toBeDefined();
        expect(c.resources?.requests?.memory, `${describeObject(w)} ${c.name}`).toBeDefined();
        expect(c.resources?.limits?.memory, `${describeObject(w)} ${c.name}`).toBeDefined();
      }
    }
  });

  it('spreads the replicas of each component over zones and nodes, counting only its own pods', () => {
    for (const component of registry) {
      const deployment = deploymentOf(objects, component.name)!;
      const labels = podLabelsOf(deployment);
      const constraints = podSpecOf(deployment).topologySpreadConstraints ?? [];
      for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
        const c = constraints.find((t: { topologyKey: string }) => t.topologyKey === key);
        expect(c, `${component.name} ${key}`).toBeDefined();
        expect(selects(c.labelSelector, labels), `${component.name} ${key} selects its pods`).toBe(true);
        // The selector plus matchLabelKeys must pick this component's pods only.
        const keys: string[] = [...Object.keys(c.labelSelector.matchLabels ?? {}), ...(c.matchLabelKeys ?? [])];
        expect(keys, `${component.name} ${key}`).toContain('app.kubernetes.io/name');
      }
    }
  });

  it('has a PodDisruptionBudget for every component, selecting its pods and letting a drain go through', () => {
    for (const component of registry) {
      const labels = podLabelsOf(deploymentOf(objects, component.name)!);
      const budgets = byKind(objects, 'PodDisruptionBudget').filter((p) => selects(p.spec.selector, labels));
      expect(budgets.length, component.name).toBe(1);
      expect(budgets[0]!.spec.maxUnavailable, component.name).toBeGreaterThanOrEqual(1);
    }
  });

  it('runs the migrations as a Job with the owner Secret, ordered before the fleet by its hook and label', () => {
    const [job, ...more] = byKind(objects, 'Job');
    expect(more).toEqual([]);
    const pod = podSpecOf(job!);
    expect(pod.containers.map((c: { args: string[] }) => c.args)).toEqual([['migrate']]);
    expect(pod.restartPolicy).toBe('Never');
    expect(job!.metadata.annotations?.['argocd.argoproj.io/hook']).toBe('PreSync');
    expect(job!.metadata.labels?.['app.kubernetes.io/component']).toBe('migrate');
    expect(podLabelsOf(job!)['app.kubernetes.io/component']).toBe('migrate');
    expect(job!.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
  });

  it('lets the migrate phase (agent-fleet/phase=migrate) be applied alone: all the Job needs is in it', () => {
    const phase = objects.filter((o) => o.metadata.labels?.['agent-fleet/phase'] === 'migrate');
    const has = (kind: string, name: string) => phase.some((o) => o.kind === kind && o.metadata.name === name);
    const [job] = byKind(objects, 'Job');
    const pod = podSpecOf(job!);
    expect(has('Job', job!.metadata.name)).toBe(true);
    expect(has('Namespace', job!.metadata.namespace!)).toBe(true);
    expect(has('ServiceAccount', pod.serviceAccountName)).toBe(true);
    for (const ref of pod.containers.flatMap((c: { envFrom?: [] }) => c.envFrom ?? [])) {
      const { secretRef, configMapRef } = ref as { secretRef?: { name: string }; configMapRef?: { name: string } };
      expect(has(secretRef ? 'Secret' : 'ConfigMap', (secretRef ?? configMapRef)!.name)).toBe(true);
    }
    // With the namespace's default deny in place, the Job still resolves names and reaches Postgres.
    const egress = phase
      .filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, podLabelsOf(job!)))
      .flatMap((p) => p.spec.egress ?? [])
      .flatMap((r: { ports?: { port: number }[] }) => (r.ports ?? []).map((port) => port.port));
    expect(egress).toEqual(expect.arrayContaining([53, 5432]));
    // In-cluster data: the Postgres the Job migrates comes up in the same phase.
    for (const o of objects.filter((x) => x.metadata.name === 'postgres' && x.kind !== 'NetworkPolicy')) {
      expect(has(o.kind, o.metadata.name), describeObject(o)).toBe(true);
    }
    // Nothing of the fleet itself: its pods start only after the Job completed.
    expect(phase.filter((o) => o.kind === 'Deployment')).toEqual([]);
  });

  it('exposes the control plane through its Service and the Ingress, and nothing else', () => {
    const deployment = deploymentOf(objects, 'control-plane')!;
    const fleetServices = byKind(objects, 'Service').filter(
      (s) => s.metadata.labels?.['app.kubernetes.io/component'] !== 'data',
    );
    expect(fleetServices.map((s) => s.metadata.name)).toEqual(['control-plane']);
    const service = fleetServices[0]!;
    expect(selects({ matchLabels: service.spec.selector }, podLabelsOf(deployment))).toBe(true);
    const container = podSpecOf(deployment).containers[0];
    const target = service.spec.ports[0].targetPort;
    expect(container.ports.find((p: { name: string }) => p.name === target)?.containerPort).toBe(
      listenPort(objects, 'control-plane', container),
    );
    const [ingress] = byKind(objects, 'Ingress');
    const backend = ingress!.spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(service.metadata.name);
    expect(backend.port.name).toBe(service.spec.ports[0].name);
  });

  if (overlay === 'prod') {
    it('pins the fleet image to a registry and a version', () => {
      for (const w of workloads) {
        for (const c of podSpecOf(w).containers) {
          expect(c.image, describeObject(w)).toMatch(/^[a-z0-9.-]+\.[a-z]+(:\d+)?\/[^:]+:(?!latest$)[\w.-]+$/);
        }
      }
    });
  }
});
