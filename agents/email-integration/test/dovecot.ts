/**
 * A real Dovecot IMAP server for tests: configured in a temp dir, listening on a free port of
 * 127.0.0.1, users in a passwd-file, mail delivered straight into their Maildirs. Run as the
 * current user; as root (CI), Dovecot's own unprivileged users serve logins and own the mail.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, deadlineMs: number, log: () => Promise<string>) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Dovecot did not listen on ${port}:\n${await log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function passwdEntry(name: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`user ${name} not found (is dovecot-imapd installed?)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface Dovecot {
  host: string;
  port: number;
  /** Adds a user with a fresh Maildir (INBOX, Sent, Archive, Junk). */
  addUser(name: string, password: string): Promise<void>;
  /** Writes a message into a folder's Maildir `new/`, as an MTA's local delivery does. */
  deliver(user: string, folder: string, raw: string): Promise<void>;
  /** Gives a folder a new UIDVALIDITY (what a server rebuild or restore does). */
  setUidValidity(user: string, folder: string, value: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Dovecot; `maxConnectionsPerUser` is mail_max_userip_connections. */
export async function startDovecot(opts: { maxConnectionsPerUser?: number } = {}): Promise<Dovecot> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-dovecot-'));
  // Dovecot's auth process reads the passwd-file as another user: the path must be traversable.
  await chmod(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const me = userInfo();
  const mailOwner = asRoot ? await passwdEntry('dovecot') : { uid: me.uid, gid: me.gid };
  const group = asRoot ? 'dovecot' : (await run('id', ['-gn'])).stdout.trim();
  const port = await freePort();
  for (const d of ['run', 'state', 'mail', 'home']) await mkdir(join(dir, d));
  if (asRoot) for (const d of ['mail', 'home']) await chown(join(dir, d), mailOwner.uid, mailOwner.gid);
  // One passwd-file per user: a shared one that grows is cached by mtime, to the second.
  const passwd = join(dir, 'passwd.d');
  await mkdir(passwd, { mode: 0o755 });
  const conf = join(dir, 'dovecot.conf');
  await writeFile(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${asRoot ? 'dovecot' : me.username}
default_internal_group = ${group}
default_login_user = ${asRoot ? 'dovenull' : me.username}
first_valid_uid = ${mailOwner.uid}
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${passwd}/%u
}
userdb {
  driver = static
  args = uid=${mailOwner.uid} gid=${mailOwner.gid} home=${dir}/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Archive {
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = ${opts.maxConnectionsPerUser ?? 20}
}
`,
  );
  const log = () => readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
  const child: ChildProcess = spawn('dovecot', ['-F', '-c', conf], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  await waitForPort(port, 15_000, log);

  const maildir = (user: string, folder: string) =>
    folder === 'INBOX' ? join(dir, 'mail', user) : join(dir, 'mail', user, `.${folder}`);
  let counter = 0;
  return {
    host: '127.0.0.1',
    port,
    async addUser(name, password) {
      await writeFile(join(passwd, name), `${name}:{PLAIN}${password}\n`, { mode: 0o644 });
      for (const folder of ['INBOX', 'Sent', 'Archive', 'Junk']) {
        for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir(name, folder), sub), { recursive: true });
      }
      if (asRoot) await run('chown', ['-R', `${mailOwner.uid}:${mailOwner.gid}`, join(dir, 'mail', name)]);
    },
    async deliver(user, folder, raw) {
      const name = `${Date.now()}.M${++counter}P${process.pid}.fleet-test`;
      const tmp = join(maildir(user, folder), 'tmp', name);
      await writeFile(tmp, raw.replace(/\r?\n/g, '\n'), { mode: 0o644 });
      await rename(tmp, join(maildir(user, folder), 'new', name));
    },
    async setUidValidity(user, folder, value) {
      await run('doveadm', ['-c', conf, 'mailbox', 'update', '-u', user, '--uid-validity', String(value), folder]);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP relay in front of the server: lets a test drop every open connection mid-command, or
 * refuse new ones, the way a flaky network or a restarting server does.
 */
export async function startRelay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let refusing = false;
  let open = 0;
  let maxOpen = 0;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    sockets.add(client);
    sockets.add(upstream);
    // Counted from the client's first command (after the greeting) to its close: a closing
    // socket's events can trail the next connection's accept within one event-loop turn.
    let counted = false;
    client.once('data', () => {
      counted = true;
      open++;
      maxOpen = Math.max(maxOpen, open);
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      if (counted) open--;
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    /** Cuts every open connection at once. */
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    refuse(on: boolean) {
      refusing = on;
    },
    /** Most connections in use (a command sent) at the same time. */
    get maxOpen() {
      return maxOpen;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
