import { catalog, jobsOf, QUEUE_NAMES } from '@fleet/catalog';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { captureIO } from './helpers.ts';

const WS = '7d0c52a4-93b5-4d8e-9a3e-2f3b1f0c4a11';
const ID = '0b8f7f2e-5a6c-4e1d-8b9a-3c2d1e0f9a8b';

/** Payloads of every kind: empty, minimal, with ids, with a wrong type, with an unknown field. */
const SAMPLES: unknown[] = [
  {},
  { workspace_id: WS },
  { workspace_id: 'not-a-uuid' },
  { workspace_id: WS, unexpected: 1 },
  { workspace_id: WS, date: '2026-01-31' },
  { workspace_id: WS, date: '2026-02-31' },
  { workspace_id: WS, account_id: ID },
  { workspace_id: WS, calendar_id: ID },
  { workspace_id: WS, media_file_id: ID },
  { workspace_id: WS, contact_ids: [ID] },
  { workspace_id: WS, contact_ids: 'x' },
  { retention_days: 30 },
  { retention_days: -1 },
  { workspace_id: WS, triggered_by: 'api' },
  { workspace_id: WS, triggered_by: 'nobody' },
  [],
  'x',
];

describe('fleet catalog --json-schema', () => {
  it('prints a JSON Schema per job that accepts and refuses what the catalog does', async () => {
    const io = captureIO();
    expect(await runCli(['catalog', '--json-schema'], { io, env: {} })).toBe(0);
    const doc = JSON.parse(io.out);
    expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const jobs = QUEUE_NAMES.flatMap((q) => Object.keys(catalog[q].jobs));
    expect(Object.keys(doc.$defs).sort()).toEqual([...jobs].sort());

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'fleet');
    let agreed = 0;
    const accepted: Record<string, number> = {};
    for (const queue of QUEUE_NAMES) {
      for (const [job, def] of jobsOf(queue)) {
        expect(doc.$defs[job]['x-fleet-queue']).toBe(queue);
        const validate = ajv.getSchema(`fleet#/$defs/${job}`)!;
        for (const sample of SAMPLES) {
          const zodSays = def.payload.safeParse(sample).success;
          expect(validate(sample), `${job} ${JSON.stringify(sample)}`).toBe(zodSays);
          if (zodSays) accepted[job] = (accepted[job] ?? 0) + 1;
          agreed++;
        }
      }
    }
    // Every job accepts at least one sample and refuses at least one, so both verdicts are compared.
    expect(Object.keys(accepted).sort()).toEqual([...jobs].sort());
    expect(agreed).toBe(jobs.length * SAMPLES.length);
  });

  it('lists the catalog as a table and as JSON', async () => {
    const table = captureIO();
    expect(await runCli(['catalog'], { io: table, env: {} })).toBe(0);
    expect(table.out).toMatch(/QUEUE\s+JOB\s+AGENT\s+SCOPE/);
    expect(table.out).toContain('media_transcription_queue');
    const json = captureIO();
    expect(await runCli(['catalog', '--json'], { io: json, env: {} })).toBe(0);
    expect(JSON.parse(json.out)).toContainEqual(
      expect.objectContaining({ queue: 'maintenance_queue', job: 'data_cleanup', scope: 'fleet' }),
    );
  });
});
