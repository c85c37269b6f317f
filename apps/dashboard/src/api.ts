/** Calls to the dashboard's session-scoped API (the cookie goes by itself; the CSRF token on posts). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${status} ${reason}`);
  }
}

export interface SessionInfo {
  role: 'admin' | 'viewer';
  csrf_token: string;
}

let csrfToken = '';

async function answerOf<T>(response: Response): Promise<T> {
  if (response.status === 401) {
    // The session ended (expired, a restart): back to the sign-in form.
    window.location.assign('/dashboard');
    throw new ApiError(401, 'not_signed_in');
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(response.status, 'not_json');
  }
  if (!response.ok) {
    const reason =
      typeof body === 'object' && body !== null && 'reason' in body ? String(body.reason) : 'error';
    throw new ApiError(response.status, reason);
  }
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return answerOf<T>(await fetch(`/dashboard/api/${path}`, { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(path: string, body: Record<string, unknown>): Promise<T> {
  return answerOf<T>(
    await fetch(`/dashboard/api/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify(body),
    }),
  );
}

export async function loadSession(): Promise<SessionInfo> {
  const session = await getJson<SessionInfo>('session');
  csrfToken = session.csrf_token;
  return session;
}
