/**
 * A realm's link to its daemon: its name and secret, connecting (again) when the daemon no longer
 * knows the secret (a 401 after a restart), and requests to the realm's own routes with the secret.
 */
import { SECRET_HEADER, routePath, type RouteName } from '../protocol/routes.js';

/** A realm's name and the secret it sends with every call. */
export interface Credentials {
  name: string;
  secret: string;
}

/** What a realm needs of its connection. */
export interface Connection {
  /** The current credentials, connecting first if there are none; null once connecting gave up. */
  current(): Promise<Credentials | null>;
  /** Drops credentials the daemon refused (401), so the next call connects again. */
  forget(stale: Credentials): void;
  /** POSTs `body` as JSON to one of this realm's routes; null when the daemon cannot be reached. */
  post(route: RouteName, body: unknown, jobId?: string): Promise<Response | null>;
}

/**
 * `origin` is read at each call, once connected. `connect` resolves with new credentials, or null when it cannot (the page must be reloaded; `connect`
 * says why), and rejects when the daemon cannot be reached (tried again at the next call).
 */
export function createConnection(origin: () => string, connect: () => Promise<Credentials | null>): Connection {
  let credentials: Credentials | null = null;
  let connecting: Promise<Credentials | null> | null = null;
  let gaveUp = false;

  const current = (): Promise<Credentials | null> => {
    if (credentials || gaveUp) return Promise.resolve(credentials);
    connecting ??= connect().then(
      (fresh) => {
        connecting = null;
        credentials = fresh;
        if (!fresh) gaveUp = true;
        return fresh;
      },
      (error: unknown) => {
        connecting = null;
        throw error;
      },
    );
    return connecting;
  };
  const forget = (stale: Credentials) => {
    if (credentials === stale) credentials = null;
  };

  return {
    current,
    forget,
    async post(route, body, jobId) {
      try {
        const own = await current();
        if (!own) return null;
        const headers = { 'content-type': 'text/plain;charset=UTF-8', [SECRET_HEADER]: own.secret };
        const response = await fetch(`${origin()}${routePath(route, { realm: own.name, jobId })}`, { method: 'POST', body: JSON.stringify(body), headers });
        if (response.status === 401) forget(own);
        return response;
      } catch {
        return null;
      }
    },
  };
}
