import { createApiKey, listApiKeys, presentKey, revokeApiKey } from '@fleet/ops';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatTable } from '../output/table.ts';
import { formatTime } from '../output/values.ts';
import { explainOpsError } from './ops-context.ts';

/** Runs `fn` on the CLI's database connection, explaining its errors. */
async function withDb<T>(ctx: CliContext, fn: (db: ReturnType<CliContext['db']>) => Promise<T>): Promise<T> {
  try {
    return await fn(ctx.db());
  } catch (error) {
    throw explainOpsError(error, ctx);
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

/**
 * `fleet api-keys`: workspace-scoped keys for the control plane's API and dashboard, managed as
 * POST/GET/DELETE /v1/api-keys do (through the same @fleet/ops functions), from a shell with
 * DATABASE_URL instead of the admin key.
 */
export function registerApiKeys(program: Command, ctx: () => CliContext): void {
  const keys = program
    .command('api-keys')
    .description("Create, list and revoke API keys scoped to workspaces (the control plane's /v1/api-keys).");

  keys
    .command('create')
    .description('Create a key for one or more workspaces; the key is printed once and never stored.')
    .requiredOption('--name <name>', 'what the key is for, e.g. "billing service"')
    .requiredOption('-w, --workspace <uuid...>', 'a workspace it may use (repeat, or separate with commas)', collect)
    .option(
      '--json',
      'print {key, id, name, key_prefix, workspace_ids, created_at, ...} as JSON (as POST /v1/api-keys)',
    )
    .addHelpText(
      'after',
      `
The key goes to stdout alone, so it can be captured; keep it now, it cannot be shown again.
  $ key=$(fleet api-keys create --name reports --workspace 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f)
  $ curl -H "Authorization: Bearer $key" http://127.0.0.1:8080/v1/tasks`,
    )
    .action(async (opts: { name: string; workspace: string[]; json?: boolean }) => {
      const c = ctx();
      const { key, info } = await withDb(c, (db) =>
        createApiKey(db, { name: opts.name, workspaceIds: opts.workspace }),
      );
      if (opts.json) {
        c.io.stdout(`${JSON.stringify({ key, ...presentKey(info) })}\n`);
        return;
      }
      c.io.stdout(`${key}\n`);
      c.io.stderr(
        `created API key ${info.id} (${info.keyPrefix}) "${info.name}" for ${info.workspaceIds.join(', ')}; ` +
          'the key above is shown only this once\n',
      );
    });

  keys
    .command('list')
    .description('List keys, newest first (never the keys themselves).')
    .option('--json', 'print {api_keys: [...]} as JSON (as GET /v1/api-keys)')
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const rows = await withDb(c, (db) => listApiKeys(db));
      if (opts.json) {
        c.io.stdout(`${JSON.stringify({ api_keys: rows.map(presentKey) }, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        c.io.stdout('No API keys. Create one with `fleet api-keys create --name <name> --workspace <uuid>`.\n');
        return;
      }
      c.io.stdout(
        `${formatTable(rows, [
          { header: 'ID', value: (k) => k.id },
          { header: 'PREFIX', value: (k) => k.keyPrefix },
          { header: 'NAME', value: (k) => k.name, maxWidth: 40 },
          { header: 'WORKSPACES', value: (k) => k.workspaceIds.join(',') },
          { header: 'CREATED', value: (k) => formatTime(k.createdAt) },
          { header: 'LAST USED', value: (k) => formatTime(k.lastUsedAt) },
          { header: 'REVOKED', value: (k) => formatTime(k.revokedAt) },
        ])}\n`,
      );
    });

  keys
    .command('revoke')
    .description('Revoke a key by id or prefix: requests and dashboard sessions with it fail from then on.')
    .argument('<id>', 'the key id (UUID) or its prefix (fleet_…)')
    .option('--json', 'print the revoked key as JSON (as DELETE /v1/api-keys/{id})')
    .action(async (id: string, opts: { json?: boolean }) => {
      const c = ctx();
      const info = await withDb(c, (db) => revokeApiKey(db, id));
      c.io.stdout(
        opts.json
          ? `${JSON.stringify(presentKey(info))}\n`
          : `revoked API key ${info.id} (${info.keyPrefix}) "${info.name}"\n`,
      );
    });
}
