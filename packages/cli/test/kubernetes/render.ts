/**
 * Renders the kustomizations under deploy/kubernetes with `kubectl kustomize` (kustomize v5,
 * built into kubectl since 1.27) or, when KUSTOMIZE names one, a standalone kustomize binary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../src/fleet/registry.ts';

export const KUBERNETES_DIR = join(REPO_ROOT, 'deploy/kubernetes');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Every overlay: each directory of deploy/kubernetes/overlays with a kustomization.yaml. */
export function overlayNames(): string[] {
  const dir = join(KUBERNETES_DIR, 'overlays');
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'kustomization.yaml')))
    .sort();
}

function kustomizeCommand(dir: string): [string, string[]] {
  const standalone = process.env.KUSTOMIZE;
  return standalone ? [standalone, ['build', dir]] : ['kubectl', ['kustomize', dir]];
}

/** The objects a kustomization renders, in output order. Throws with kustomize's message. */
export function render(dir: string): K8sObject[] {
  const [command, args] = kustomizeCommand(dir);
  const text = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null)
    .map(joinFoldedBase64);
}

/**
 * kustomize folds long base64 values of a Secret over several lines; the API server's decoder
 * (Go's encoding/base64) ignores line breaks, so they are joined before validation.
 */
function joinFoldedBase64(o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || !o.data) return o;
  return { ...o, data: Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, v.replace(/\s+/g, '')])) };
}

export const describeObject = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

// biome-ignore lint/suspicious/noExplicitAny: pod specs are plain JSON
export type PodSpec = any;

/** The pod template of a workload (Deployment, StatefulSet, Job), if it is one. */
export function podSpecOf(o: K8sObject): PodSpec | undefined {
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind) ? o.spec?.template?.spec : undefined;
}

export function podLabelsOf(o: K8sObject): Record<string, string> {
  return o.spec?.template?.metadata?.labels ?? {};
}

/** Does a label selector (matchLabels and matchExpressions) select these labels? */
export function selects(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Record<string, string>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === 'In' && !(has && values.includes(labels[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key]!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A Secret's or ConfigMap's values, decoded. */
export function valuesOf(o: K8sObject): Record<string, string> {
  const decoded = Object.fromEntries(
    Object.entries(o.kind === 'Secret' ? (o.data ?? {}) : {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  return { ...(o.kind === 'ConfigMap' ? (o.data ?? {}) : {}), ...decoded, ...(o.stringData ?? {}) };
}

/** Every overlay, rendered once per test file. */
export function renderOverlays(): [string, K8sObject[]][] {
  return overlayNames().map((name) => [name, render(join(KUBERNETES_DIR, 'overlays', name))]);
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
