// The page's API client: the key from the URL fragment (then kept for this tab only) in the X-Emulator-Key header.
const KEY_STORE = 'acs-emulator-key';
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Read `#key=...` once, keep it in sessionStorage and take it out of the address bar. */
export function takeKeyFromFragment() {
  const match = location.hash.match(/^#key=([^&]+)/);
  if (match) {
    sessionStorage.setItem(KEY_STORE, decodeURIComponent(match[1]));
    history.replaceState(null, '', `${location.pathname}#/threads`);
  }
  return sessionStorage.getItem(KEY_STORE);
}

export function setKey(key) { sessionStorage.setItem(KEY_STORE, key.trim()); }
export function hasKey() { return Boolean(sessionStorage.getItem(KEY_STORE)); }
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/** One call of the page's API; throws ApiError with the server's message. */
export async function api(method, path, body, signal) {
  const headers = { 'X-Emulator-Key': sessionStorage.getItem(KEY_STORE) || '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`api/${path}`, {
    method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body), signal,
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    onUnauthorized(data?.error?.message);
  }
  if (!res.ok) throw new ApiError(res.status, data?.error?.code, data?.error?.message || `HTTP ${res.status}`);
  return data;
}

export const enc = encodeURIComponent;
