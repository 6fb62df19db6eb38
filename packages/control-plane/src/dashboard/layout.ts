import { esc, type Html, html } from './html.ts';

/** What every signed-in page's header needs. */
export interface Viewer {
  principalName: string;
  /** Whether the viewer is an operator (asked of @fleet/ops by the route): the bull-board link. */
  isAdmin: boolean;
}

const HEAD = `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/dashboard/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">`;

/** A signed-in page: header with navigation, then `body`; the refresh script is loaded deferred. */
export function renderShell(o: Viewer & { title: string; body: Html }): string {
  return `<!doctype html>
<html lang="en"><head>${HEAD}
<title>${esc(o.title)} · agent fleet</title>
<script src="/dashboard/assets/dashboard.js" defer></script>
</head><body>
<header class="top"><h1><a href="/dashboard">Agent fleet</a></h1>
<nav>${o.isAdmin ? '<a href="/admin/queues/">Queue management</a>' : ''}<a href="/openapi.json">API</a>
<form method="post" action="/dashboard/logout"><button class="link" type="submit">Sign out (${esc(o.principalName)})</button></form></nav></header>
<main>
${o.body}
</main></body></html>`;
}

/** A page that says what went wrong (a task that does not exist, a refused action). */
export function renderErrorPage(o: Partial<Viewer> & { status: number; message: string }): string {
  const body = html`<p><a href="/dashboard">← Dashboard</a></p>
    <section class="card notice bad" role="alert" data-testid="error"><h2>${o.status === 404 ? 'Not found' : 'Not possible'}</h2>
    <p>${o.message}</p></section>`;
  if (o.principalName === undefined) {
    return `<!doctype html><html lang="en"><head>${HEAD}<title>Error · agent fleet</title></head><body><main>${body}</main></body></html>`;
  }
  return renderShell({ principalName: o.principalName, isAdmin: o.isAdmin ?? false, title: 'Error', body });
}

export function renderLogin(message?: string): string {
  return `<!doctype html>
<html lang="en"><head>${HEAD}
<title>Sign in · agent fleet</title>
</head><body class="login">
<form method="post" action="/dashboard/login" class="card login-card">
<h1>Agent fleet</h1>
<p class="muted">Sign in with an API key (the admin key, or a workspace key).</p>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<label>API key <input type="password" name="key" autocomplete="current-password" required autofocus data-testid="key"></label>
<button type="submit" data-testid="sign-in">Sign in</button>
</form></body></html>`;
}
