// The editor API (docs/http.md, "Caption editor API") with the page's token:
// every request sends it as a bearer token; answers are JSON. A refused
// request throws an APIError that carries the status and the JSON body (a
// 409 carries the cue as it is now).

import { config, t } from './page.js';

export class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || t('edit.error.http', { status }));
    this.status = status;
    this.body = body || {};
  }
}

// call sends a request below the event's API (path starts with "/") and
// resolves to {status, body, headers}; signal aborts it.
export async function call(method, path, body, signal) {
  const headers = { Accept: 'application/json' };
  if (config.token) headers.Authorization = 'Bearer ' + config.token;
  const init = { method, headers, signal, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(config.api + path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new APIError(0, { error: t('edit.error.network') });
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!resp.ok) throw new APIError(resp.status, data);
  return { status: resp.status, body: data, headers: resp.headers };
}

const enc = encodeURIComponent;

// captions is the path of a language's caption API.
export const captions = (lang) => '/captions/' + enc(lang);

// withToken adds the page's token to a same-origin URL (links and the
// player cannot send a header).
export function withToken(url) {
  if (!config.token) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + enc(config.token);
}

// The operations, each resolving to the answer's body.
export const api = {
  cues: (lang, query, signal) => call('GET', captions(lang) + '/cues' + (query ? '?' + query : ''), undefined, signal),
  limits: (lang) => call('GET', captions(lang) + '/limits').then((r) => r.body),
  patch: (lang, id, body) => call('PATCH', captions(lang) + '/cues/' + enc(id), body).then((r) => r.body),
  add: (lang, body) => call('POST', captions(lang) + '/cues', body).then((r) => r.body),
  remove: (lang, id, version) => call('DELETE', captions(lang) + '/cues/' + enc(id) + '?version=' + enc(version)).then((r) => r.body),
  action: (lang, id, action, body) => call('POST', captions(lang) + '/cues/' + enc(id) + '/' + action, body).then((r) => r.body),
  versions: (lang, id) => call('GET', captions(lang) + '/cues/' + enc(id) + '/versions').then((r) => r.body),
  shift: (lang, body) => call('POST', captions(lang) + '/shift', body).then((r) => r.body),
  replace: (lang, body) => call('POST', captions(lang) + '/replace', body).then((r) => r.body),
  undo: (lang, body) => call('POST', captions(lang) + '/undo', body || {}).then((r) => r.body),
  recordings: () => call('GET', '/recordings').then((r) => r.body),
  levels: (run, lang, fromMS, toMS, signal) =>
    call('GET', '/recordings/' + enc(run) + '/levels/' + enc(lang) + '?from_ms=' + fromMS + '&to_ms=' + toMS, undefined, signal).then((r) => r.body),
};
