/**
 * deploy/kubernetes NetworkPolicies, evaluated for each fleet pod: deny by default; agents reach
 * DNS, Postgres, Redis and (only those that call one) their providers on the internet; the
 * migrate Job reaches Postgres only; the control plane takes traffic from the ingress
 * controller alone.
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
import { serviceEnvShapes, serviceOf } from './kubernetes/service-env.ts';

const overlays = renderOverlays();
const shapes = await serviceEnvShapes();
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];

/**
 * An agent that calls an outside service: its schema has a URL variable besides Postgres and
 * Redis, or an allowlist for URLs that come from rows (calendar servers, media hosts).
 */
const callsProviders = (service: string) =>
  Object.keys(shapes.get(service)!).some(
    (v) => (v.endsWith('_URL') && !['DATABASE_URL', 'REDIS_URL'].includes(v)) || v.endsWith('_ALLOWED_HOSTS'),
  );

interface Rule {
  peers: Record<string, unknown>[];
  ports: { protocol?: string; port?: number }[];
}

/** The rules of one direction that apply to pods with these labels. */
function rulesFor(objects: K8sObject[], labels: Record<string, string>, direction: 'Ingress' | 'Egress'): Rule[] {
  return byKind(objects, 'NetworkPolicy')
    .filter((p) => p.spec.policyTypes.includes(direction) && selects(p.spec.podSelector, labels))
    .flatMap((p) => (direction === 'Egress' ? (p.spec.egress ?? []) : (p.spec.ingress ?? [])))
    .map((r: { to?: []; from?: []; ports?: [] }) => ({ peers: r.to ?? r.from ?? [], ports: r.ports ?? [] }));
}

const allows = (rules: Rule[], port: number, protocol = 'TCP') =>
  rules.some((r) => r.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === protocol));
const internetRules = (rules: Rule[]) =>
  rules.filter((r) => r.peers.some((peer) => (peer.ipBlock as { cidr?: string } | undefined)?.cidr === '0.0.0.0/0'));

describe.each(overlays)('overlay %s', (_overlay, objects) => {
  const pods = objects
    .filter((o) => podSpecOf(o))
    .map((o) => ({
      owner: describeObject(o),
      labels: podLabelsOf(o),
      service: serviceOf(podSpecOf(o).containers[0].args),
      // The ports its process listens on (kubernetes.test.ts ties them to the process's config).
      ports: (podSpecOf(o).containers[0].ports ?? []).map(
        (p: { containerPort: number }) => p.containerPort,
      ) as number[],
    }));
  const fleetPods = pods.filter((p) => p.service);

  it('denies all traffic of the namespace unless a policy allows it', () => {
    const denyAll = byKind(objects, 'NetworkPolicy').filter(
      (p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress,
    );
    expect(denyAll.map((p) => p.spec.policyTypes.sort())).toEqual([['Egress', 'Ingress']]);
  });

  it('never opens a direction wholesale: every rule names its peers and its ports', () => {
    for (const p of byKind(objects, 'NetworkPolicy')) {
      for (const rule of [...(p.spec.egress ?? []), ...(p.spec.ingress ?? [])]) {
        expect((rule.to ?? rule.from ?? []).length, describeObject(p)).toBeGreaterThan(0);
        expect((rule.ports ?? []).length, describeObject(p)).toBeGreaterThan(0);
      }
    }
  });

  it('lets every fleet pod resolve names through kube-dns', () => {
    for (const { owner, labels } of fleetPods) {
      const egress = rulesFor(objects, labels, 'Egress');
      expect(allows(egress, 53, 'UDP') && allows(egress, 53, 'TCP'), owner).toBe(true);
    }
  });

  it('lets agents and the control plane reach Postgres and Redis, and migrate only Postgres', () => {
    for (const { owner, labels, service } of fleetPods) {
      const egress = rulesFor(objects, labels, 'Egress');
      expect(allows(egress, 5432), owner).toBe(true);
      expect(allows(egress, 6379), owner).toBe(service !== 'migrate');
    }
  });

  it('opens the internet (HTTPS, HTTP) to exactly the agents that call a provider, never private ranges', () => {
    const agents = fleetRegistry().filter((c) => c.kind === 'agent');
    expect(agents.filter((a) => callsProviders(a.name)).length).toBeGreaterThan(0);
    expect(agents.filter((a) => !callsProviders(a.name)).length).toBeGreaterThan(0);
    for (const { owner, labels, service } of fleetPods) {
      const internet = internetRules(rulesFor(objects, labels, 'Egress'));
      const expected = service !== 'migrate' && service !== 'control-plane' && callsProviders(service!);
      expect(internet.length > 0, `${owner} internet egress`).toBe(expected);
      for (const rule of internet) {
        expect(rule.ports.map((p) => p.port).sort()).toEqual([443, 80].sort());
        const block = rule.peers.find((peer) => (peer.ipBlock as { cidr: string })?.cidr === '0.0.0.0/0')!.ipBlock as {
          except: string[];
        };
        expect(block.except, owner).toEqual(expect.arrayContaining(PRIVATE_RANGES));
      }
    }
  });

  it('admits traffic to the control plane from the ingress controller only, on its port', () => {
    const controlPlane = fleetPods.find((p) => p.service === 'control-plane')!;
    const ingress = rulesFor(objects, controlPlane.labels, 'Ingress');
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.ports.map((p) => p.port)).toEqual(controlPlane.ports);
      for (const peer of rule.peers) {
        expect(peer).toEqual({
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
        });
      }
    }
  });

  it('admits nothing to agents but Prometheus scraping their metrics port, and nothing to migrate', () => {
    for (const { owner, labels, service, ports } of fleetPods.filter((p) => p.service !== 'control-plane')) {
      const ingress = rulesFor(objects, labels, 'Ingress');
      if (service === 'migrate') {
        expect(ingress, owner).toEqual([]);
        continue;
      }
      for (const rule of ingress) {
        expect(
          rule.ports.map((p) => p.port),
          owner,
        ).toEqual(ports);
        expect(rule.peers, owner).toEqual([
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ]);
      }
    }
  });
});
