// Pushes to platforms (the event's outputs: docs/http.md, "Pushes"): each
// one's state, what it sends, its bitrate, reconnects and last error from the
// status, and a button that starts or stops it through the producer API. A
// change of state is announced.

import { call } from './api.js';
import { fillKV } from './kv.js';
import { $, iso, nameOf, num, record, say, setData, setHidden, setText, showStatus, t } from './page.js';

const STATE_KEYS = {
  connected: 'console.push.state.connected',
  connecting: 'console.push.state.connecting',
  stopped: 'console.push.state.stopped',
  failed: 'console.push.state.failed',
};

const items = new Map(); // id -> {li, name, url, state, kv, btn, err, last}

const label = (p) => (typeof p.name === 'string' && p.name ? p.name : nameOf(String(p.lang || '')) + ' (' + p.id + ')');

function item(p) {
  const n = items.size;
  const li = document.createElement('li');
  li.className = 'push';
  li.dataset.id = p.id;
  const head = document.createElement('p');
  head.className = 'push-head';
  const name = document.createElement('span');
  name.className = 'push-name';
  name.id = 'push-' + n + '-name';
  const state = document.createElement('span');
  state.className = 'push-state';
  state.id = 'push-' + n + '-state';
  const url = document.createElement('span');
  url.className = 'push-url';
  url.dir = 'ltr';
  head.append(name, ' ', state, ' ', url);
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'small';
  btn.setAttribute('aria-describedby', name.id + ' ' + state.id);
  const kv = document.createElement('dl');
  kv.className = 'kv';
  const err = document.createElement('p');
  err.className = 'status-line';
  err.setAttribute('role', 'status');
  li.append(head, btn, kv, err);
  const it = { li, name, url, state, kv, btn, err, last: '', id: p.id, label: label(p) };
  btn.addEventListener('click', () => toggle(it));
  return it;
}

async function toggle(it) {
  // aria-disabled, not disabled: a disabled button would drop the focus
  // of the producer who just pressed it.
  if (it.btn.getAttribute('aria-disabled') === 'true') return;
  const action = it.btn.dataset.action === 'stop' ? 'stop' : 'start';
  it.btn.setAttribute('aria-disabled', 'true');
  const res = await call('POST', '/outputs/' + encodeURIComponent(it.id) + '/' + action);
  it.btn.removeAttribute('aria-disabled');
  record({ kind: 'push', id: it.id, action, ok: res.ok, status: res.status });
  if (!res.ok) {
    it.err.dataset.error = 'true';
    showStatus(it.err, t('console.push.error', { name: iso(it.label), error: res.error }));
    return;
  }
  delete it.err.dataset.error;
  showStatus(it.err, '');
  if (res.data && typeof res.data === 'object') paintOne(res.data);
}

function paintOne(p) {
  if (!p || typeof p !== 'object' || typeof p.id !== 'string') return;
  let it = items.get(p.id);
  if (!it) {
    it = item(p);
    items.set(p.id, it);
    $('push-list').append(it.li);
  }
  it.label = label(p);
  const state = STATE_KEYS[p.state] ? p.state : 'stopped';
  setText(it.name, it.label);
  if (typeof p.lang === 'string') it.name.lang = p.lang;
  setText(it.url, typeof p.url === 'string' ? p.url : '');
  setText(it.state, t(STATE_KEYS[state]));
  setData(it.li, 'state', state);
  const running = state !== 'stopped';
  setText(it.btn, t(running ? 'console.push.stop' : 'console.push.start'));
  it.btn.dataset.action = running ? 'stop' : 'start';
  const pairs = [
    [t('console.push.media'), t(p.video ? 'console.push.video_audio' : 'console.push.audio_only')],
    [t('console.push.bitrate'), t('console.push.kbps', { v: num((Number(p.bitrate_bps) || 0) / 1000) })],
    [t('console.push.reconnects'), num(Number(p.reconnects) || 0)],
  ];
  // Outputs to an SFU (Janus, WHIP) count RTP packets and failed sends.
  if (p.protocol === 'janus' || p.protocol === 'whip') {
    pairs.push([t('console.push.packets'), num(Number(p.packets) || 0)]);
    pairs.push([t('console.push.send_errors'), num(Number(p.errors) || 0), Number(p.errors) > 0 ? 'bad' : '']);
  }
  if (typeof p.last_error === 'string' && p.last_error) pairs.push([t('console.push.last_error'), p.last_error, state === 'failed' ? 'bad' : '']);
  fillKV(it.kv, pairs);
  if (it.last && it.last !== state) say(t('console.push.now', { name: iso(it.label), state: t(STATE_KEYS[state]) }));
  it.last = state;
}

// paintPushes shows the status's pushes; the section stays hidden for an
// event that pushes nothing.
export function paintPushes(s) {
  const list = Array.isArray(s.pushes) ? s.pushes : [];
  setHidden($('pushes'), list.length === 0);
  list.forEach(paintOne);
}
