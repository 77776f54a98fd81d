// The REST API over the session cookie. Writes carry X-Requested-With, which the server
// requires of cookie-authenticated requests (a cross-site form cannot send it).

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_error';
    this.field = field || null;
  }
}

let onUnauthorized = () => {};

/** Called when a request answers 401 (the session ended): the app shows the login page. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** The session ended without a request noticing (the real-time socket was closed 4401). */
export function sessionEnded() {
  onUnauthorized();
}

let accountId = null;

export function setAccount(id) {
  accountId = id;
}

export function getAccount() {
  return accountId;
}

/** `/api/v1/accounts/{id}` + path. */
export function acct(path = '') {
  return `/api/v1/accounts/${accountId}${path}`;
}

/**
 * A request. `body` is sent as JSON, or as is when it is FormData. Resolves with the parsed
 * JSON (or null for an empty body); rejects with ApiError. `quiet401` keeps a 401 from
 * ending the session (the login form's own failures).
 */
export async function request(method, path, body, { quiet401 = false, signal } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'network error');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    // `{"error": {"code", "message", "field"}}`; a bare `{"error": "code", "message"}` too.
    let err = data && data.error ? data.error : {};
    if (typeof err === 'string') err = { code: err, message: data.message };
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(res.status, err.code, err.message, err.field);
  }
  return data;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body ?? {}, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, body, opts) => request('DELETE', path, body, opts);

/** Query string from an object; arrays repeat the key, empty values are left out. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
    else u.append(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** A client id for idempotent sends (`echo_id`). */
export function echoId() {
  if (crypto.randomUUID) return `c-${crypto.randomUUID()}`;
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `c-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}
