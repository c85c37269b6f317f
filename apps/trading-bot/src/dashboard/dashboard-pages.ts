/** The dashboard's two HTML pages: no inline script or style (the CSP forbids both). */

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const head = (title: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
  `<meta name="viewport" content="width=device-width, initial-scale=1">` +
  `<title>${escapeHtml(title)}</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head>`;

/** Sign-in: a plain form posting `token`, so it works before any script has loaded. */
export function signInPage(error?: string): string {
  const message = error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  return (
    head('Sign in: trading dashboard') +
    `<body class="signin"><main><h1>Trading dashboard</h1>${message}` +
    `<form method="post" action="/dashboard/login">` +
    `<label for="token">Admin or viewer token</label>` +
    `<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>` +
    `<button type="submit">Sign in</button></form></main></body></html>`
  );
}

/** The application shell: the bundle renders everything into #app. */
export function dashboardPage(): string {
  return (
    head('Trading dashboard') +
    `<body><div id="app" aria-live="polite"></div>` +
    `<script src="/dashboard/assets/dashboard.js" defer></script></body></html>`
  );
}

export function assetsMissingPage(): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>` +
    `<body><p>The dashboard's assets are not built: run <code>npm run build</code>.</p></body></html>`
  );
}
