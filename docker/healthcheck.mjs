// Container health check: GET /healthz of the process in this container. Exit 0 healthy, 1 not.
//   node docker/healthcheck.mjs [VARIABLE | port]
// The argument names the variable that holds the port the process listens on (HTTP_PORT for
// agents, CONTROL_PLANE_PORT for the control plane), so the check follows the configuration;
// a number is used as it is. Default: HTTP_PORT (the image sets it to 9464).
const arg = process.argv[2] ?? 'HTTP_PORT';
const port = /^\d+$/.test(arg) ? arg : process.env[arg];
if (!port || !/^\d+$/.test(port)) {
  console.error(`${arg} ${port ? `is not a port: ${port}` : 'is not set'}: no port to check`);
  process.exit(1);
}
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
