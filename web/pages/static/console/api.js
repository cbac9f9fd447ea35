// The producer's JSON API (docs/http.md, "Producer API"), with the page's
// token as a bearer token. Every call resolves, never rejects: {ok, status,
// data, error}, where error is the server's {"error"} text, or a sentence of
// the page's own for a network failure.

import { config, t } from './page.js';

export async function call(method, path, body) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + (config.token || '') };
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const ctl = new AbortController();
  const timer = window.setTimeout(() => ctl.abort(), 10000);
  init.signal = ctl.signal;
  let res;
  try {
    res = await fetch((config.api || '') + path, init);
  } catch (e) {
    return { ok: false, status: 0, data: null, error: t('console.error.network') };
  } finally {
    window.clearTimeout(timer);
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (res.ok) return { ok: true, status: res.status, data, error: '' };
  const msg = data && typeof data.error === 'string' && data.error ? data.error : t('console.error.http', { status: res.status });
  return { ok: false, status: res.status, data, error: msg };
}

// The calls the console makes.
export const patchLanguage = (tag, body) => call('PATCH', '/languages/' + encodeURIComponent(tag), body);
export const setBooth = (tag, body) => call('POST', '/booths/' + encodeURIComponent(tag), body);
export const notice = (lang, text) => call('POST', '/notices', lang ? { lang, text } : { text });
export const switchFloor = (input) => call('POST', '/floor', { input });
export const listTokens = () => call('GET', '/tokens');
export const createToken = (body) => call('POST', '/tokens', body);
export const revokeToken = (id) => call('DELETE', '/tokens/' + encodeURIComponent(id));
export const getGlossary = () => call('GET', '/glossary');
export const putGlossary = (body) => call('PUT', '/glossary', body);
