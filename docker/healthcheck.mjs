// Container health check: GET /healthz of the process in this container. Exit 0 healthy, 1 not.
//   node docker/healthcheck.mjs [port]
// The port comes from the argument, else HEALTHCHECK_PORT, else HTTP_PORT (agents), else 9464.
const port = process.argv[2] ?? process.env.HEALTHCHECK_PORT ?? process.env.HTTP_PORT ?? '9464';
const url = `http://127.0.0.1:${port}/healthz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4_000) });
  if (!res.ok) {
    console.error(`${url} answered ${res.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`${url} unreachable: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
