/**
 * Validation of rendered objects against published schemas, offline:
 * - Kubernetes objects: the OpenAPI schemas of Kubernetes 1.36 (kubernetes-models 5.1.0, MIT,
 *   which compiles them to ajv JSON-schema validators);
 * - KEDA's ScaledObject and TriggerAuthentication: the CRDs' openAPIV3Schema of KEDA 2.19
 *   (@kubernetes-models/keda 2.0.0, MIT).
 * OpenAPI schemas do not forbid unknown fields, but the API server's strict field validation
 * (kubectl's default) rejects them, so a misspelt field would pass the schema and fail at
 * apply time, or worse, be dropped by an older client. `unknownFields` finds them.
 */
import type { K8sObject } from './render.ts';

interface SchemaError {
  instancePath: string;
  message?: string;
}
type Validate = (data: unknown) => SchemaError[];

/** Where the model of an apiVersion/kind lives in the two packages. */
function modulePath(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const validators = new Map<string, Validate>();

/** The validator of an object's apiVersion/kind; throws when no schema is known for it. */
export async function validatorFor(o: Pick<K8sObject, 'apiVersion' | 'kind'>): Promise<Validate> {
  const key = `${o.apiVersion}/${o.kind}`;
  const cached = validators.get(key);
  if (cached) return cached;
  let model: { prototype: { validate(this: unknown): void } };
  try {
    model = (await import(modulePath(o.apiVersion, o.kind)))[o.kind];
  } catch {
    throw new Error(`no schema for ${key}`);
  }
  const validate: Validate = (data) => {
    try {
      model.prototype.validate.call(data);
      return [];
    } catch (error) {
      const errors = (error as { errors?: SchemaError[] }).errors;
      if (!errors) throw error;
      return errors;
    }
  };
  validators.set(key, validate);
  return validate;
}

/** Schema errors of one object, as `path message` lines (empty when valid). */
export async function schemaErrors(o: K8sObject): Promise<string[]> {
  const errors = (await validatorFor(o))(o);
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

const pointer = (path: string[]) => path.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * Fields of a valid object that its schema does not know. Every schema constrains the type of
 * the fields it defines, so each field in turn is replaced by a value no schema accepts (a
 * symbol): a known field then fails validation at its own path, an unknown one goes unnoticed.
 */
export async function unknownFields(o: K8sObject): Promise<string[]> {
  const validate = await validatorFor(o);
  const probe = Symbol('probe');
  const unknown: string[] = [];
  const visit = (node: Record<string, unknown>, path: string[]) => {
    for (const key of Object.keys(node)) {
      const here = [...path, key];
      const at = pointer(here);
      const original = node[key];
      node[key] = probe;
      const noticed = validate(o).some((e) => e.instancePath === at || e.instancePath.startsWith(`${at}/`));
      node[key] = original;
      if (!noticed) {
        unknown.push(at);
        continue;
      }
      if (Array.isArray(original)) {
        original.forEach((item, i) => {
          if (item && typeof item === 'object') visit(item as Record<string, unknown>, [...here, String(i)]);
        });
      } else if (original && typeof original === 'object') {
        visit(original as Record<string, unknown>, here);
      }
    }
  };
  visit(o as unknown as Record<string, unknown>, []);
  return unknown;
}
