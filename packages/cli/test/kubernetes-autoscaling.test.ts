/**
 * deploy/kubernetes autoscaling: every agent has one autoscaler (a KEDA ScaledObject in prod,
 * an HPA in dev) on its own Deployment, and each ScaledObject's Redis triggers read the keys
 * where BullMQ keeps the agent's jobs — checked against BullMQ itself on a real Redis.
 */
import { queuePrefix } from '@fleet/config';
import { createTestRedis, waitFor } from '@fleet/testing';
import { Queue, QueueKeys, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetRegistry } from '../src/fleet/registry.ts';
import { byKind, describeObject, type K8sObject, podSpecOf, renderOverlays, valuesOf } from './kubernetes/render.ts';
import { containerEnv } from './kubernetes/service-env.ts';

const overlays = renderOverlays();
const agents = fleetRegistry().filter((c) => c.kind === 'agent');
/** BullMQ keys a queue-depth trigger may read: jobs due now, and jobs running. */
const COUNTED = ['wait', 'prioritized', 'active'] as const;

/** Each agent's autoscaler target, by the autoscaler's kind. */
function targetOf(o: K8sObject): { kind: string; name: string } | undefined {
  if (o.kind === 'ScaledObject')
    return { kind: o.spec.scaleTargetRef.kind ?? 'Deployment', name: o.spec.scaleTargetRef.name };
  if (o.kind === 'HorizontalPodAutoscaler') return o.spec.scaleTargetRef;
  return undefined;
}

/** The BullMQ prefix an agent's Deployment configures (QUEUE_PREFIX, as the process parses it). */
function prefixOf(objects: K8sObject[], deployment: K8sObject): string {
  const env = containerEnv(podSpecOf(deployment).containers[0], objects);
  return queuePrefix.default('{fleet}').parse(env.get('QUEUE_PREFIX')?.value);
}

describe.each(overlays)('overlay %s', (_overlay, objects) => {
  const autoscalers = objects.filter((o) => targetOf(o));

  it('autoscales every agent with exactly one autoscaler on its Deployment, which sets no replica count', () => {
    for (const agent of agents) {
      const deployment = byKind(objects, 'Deployment').find((d) => d.metadata.name === agent.name)!;
      const mine = autoscalers.filter((a) => targetOf(a)!.kind === 'Deployment' && targetOf(a)!.name === agent.name);
      expect(mine.length, agent.name).toBe(1);
      expect(deployment.spec.replicas, `${agent.name}: the autoscaler owns replicas`).toBeUndefined();
    }
    for (const a of autoscalers) {
      const target = targetOf(a)!;
      expect(
        byKind(objects, target.kind).some((d) => d.metadata.name === target.name),
        describeObject(a),
      ).toBe(true);
    }
  });

  for (const scaled of byKind(objects, 'ScaledObject')) {
    it(`${scaled.metadata.name}: scales on the BullMQ keys of its queues, summed, with Redis credentials`, () => {
      const agent = agents.find((a) => a.name === scaled.spec.scaleTargetRef.name)!;
      const deployment = byKind(objects, 'Deployment').find((d) => d.metadata.name === agent.name)!;
      const keys = new QueueKeys(prefixOf(objects, deployment));
      const expected = agent.queues.flatMap((q) => COUNTED.map((k) => keys.toKey(q, k)));
      const triggers = scaled.spec.triggers as { type: string; name: string; metadata: { listName: string } }[];
      expect(triggers.every((t) => t.type === 'redis')).toBe(true);
      expect(triggers.map((t) => t.metadata.listName).sort()).toEqual(expected.sort());
      // replicas = ceil((wait + prioritized + active) / target): every trigger counts.
      const formula = scaled.spec.advanced.scalingModifiers.formula as string;
      expect(
        formula
          .split('+')
          .map((s) => s.trim())
          .sort(),
      ).toEqual(triggers.map((t) => t.name).sort());
      expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      for (const t of scaled.spec.triggers) {
        const auth = byKind(objects, 'TriggerAuthentication').find((a) => a.metadata.name === t.authenticationRef.name);
        expect(auth, `${t.name}: ${t.authenticationRef.name}`).toBeDefined();
        for (const ref of auth!.spec.secretTargetRef) {
          const secret = byKind(objects, 'Secret').find((s) => s.metadata.name === ref.name);
          expect(secret && ref.key in valuesOf(secret), `${ref.name}.${ref.key}`).toBe(true);
        }
      }
    });
  }
});

describe('what a KEDA redis trigger reads of a BullMQ queue', () => {
  const redis = createTestRedis('keda');
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  afterAll(async () => {
    await redis.cleanup();
    connection.disconnect();
  });

  /** KEDA's redis scaler: the length of one key, whatever its type (LLEN, ZCARD, SCARD, HLEN). */
  async function kedaLength(key: string): Promise<number> {
    const type = await connection.type(key);
    if (type === 'zset') return connection.zcard(key);
    if (type === 'set') return connection.scard(key);
    if (type === 'hash') return connection.hlen(key);
    return connection.llen(key);
  }

  it('counts due jobs (plain and prioritized) and running ones, as BullMQ does, but not delayed jobs', async () => {
    const [prod] = overlays.filter(([name]) => name === 'prod').map(([, objects]) => objects);
    const scaled = byKind(prod!, 'ScaledObject').find((s) => s.metadata.name === 'analytics')!;
    const renderedPrefix = prefixOf(prod!, byKind(prod!, 'Deployment').find((d) => d.metadata.name === 'analytics')!);
    const listNames = (scaled.spec.triggers as { metadata: { listName: string } }[]).map((t) =>
      t.metadata.listName.replace(renderedPrefix, redis.prefix),
    );
    const metric = async () => (await Promise.all(listNames.map(kedaLength))).reduce((a, b) => a + b, 0);

    const queue = new Queue('analytics_queue', { connection, prefix: redis.prefix });
    await queue.add('daily_analytics_rollup', {}, {});
    await queue.add('daily_analytics_rollup', {}, {});
    await queue.add('weekly_report_generation', {}, { priority: 5 });
    await queue.add('monthly_summary', {}, { priority: 1 });
    await queue.add('daily_analytics_rollup', {}, { delay: 3_600_000 });
    const due = await queue.getJobCounts('waiting', 'prioritized', 'active');
    expect(due).toEqual({ waiting: 2, prioritized: 2, active: 0 });
    expect(await metric()).toBe(4);

    // A running job stays in the count, so a scale-down does not interrupt work in flight.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workerConnection = connection.duplicate();
    const worker = new Worker('analytics_queue', () => held, { connection: workerConnection, prefix: redis.prefix });
    try {
      await waitFor(async () => (await queue.getJobCounts('active')).active === 1, { what: 'one active job' });
      expect(await metric()).toBe(4);
    } finally {
      release();
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
    }
  });
});
