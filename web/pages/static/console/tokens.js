// The tokens dialog: the event's tokens with their live sessions, a new
// token (its link is shown once, with a copy button), and revocation, asked
// twice, which ends the token's live sessions at once.

import { createToken, listTokens, revokeToken } from './api.js';
import { $, dateTime, iso, nameOf, record, say, setHidden, setText, showStatus, t } from './page.js';
import { session } from './state.js';

const el = {
  dialog: $('tokens'),
  open: $('tokens-open'),
  close: $('tokens-close'),
  form: $('token-form'),
  role: $('token-role'),
  langField: $('token-lang-field'),
  lang: $('token-lang'),
  name: $('token-name'),
  create: $('token-create'),
  status: $('token-status'),
  fresh: $('token-new'),
  link: $('token-link'),
  copy: $('token-copy'),
  rows: $('token-rows'),
};

const ROLE_KEYS = {
  interpreter: 'console.tokens.role.interpreter',
  producer: 'console.tokens.role.producer',
  editor: 'console.tokens.role.editor',
  listener: 'console.tokens.role.listener',
};

export let tokens = [];
let refreshTimer = 0;
let ended = false; // this console's own token is gone: the API will refuse it
let confirming = ''; // the id whose revocation waits for confirmation
export const revocations = []; // {id, name, clickedAt, answeredAt, ok}

function roleName(r) {
  return ROLE_KEYS[r] ? t(ROLE_KEYS[r]) : r;
}

export async function refresh() {
  if (ended) return;
  const r = await listTokens();
  if (!r.ok) {
    showStatus(el.status, t('console.error.refused', { error: r.error }), 15000);
    return;
  }
  tokens = Array.isArray(r.data && r.data.tokens) ? r.data.tokens : [];
  paint();
}

function paint() {
  const had = document.activeElement && el.rows.contains(document.activeElement) ? document.activeElement.dataset.focusKey : '';
  const frag = document.createDocumentFragment();
  // Live tokens first (newest first), then the revoked ones.
  const list = tokens.slice().sort((a, b) => (!!a.revoked - !!b.revoked) || String(b.created).localeCompare(String(a.created)));
  for (const tok of list) {
    const tr = document.createElement('tr');
    tr.dataset.token = tok.id;
    tr.dataset.revoked = String(!!tok.revoked);
    const nameCell = document.createElement('th');
    nameCell.scope = 'row';
    nameCell.id = 'tok-' + tok.id + '-name';
    nameCell.textContent = tok.name || t('console.interp.unnamed');
    if (session.you && session.you.id === tok.id) nameCell.append(' ', chip(t('console.tokens.this_console')));
    const cell = (text) => {
      const td = document.createElement('td');
      td.textContent = text;
      return td;
    };
    const created = new Date(tok.created);
    const live = cell(tok.revoked ? t('console.tokens.revoked') : String(tok.live || 0));
    live.className = 'num';
    live.dataset.live = String(tok.live || 0);
    const act = document.createElement('td');
    act.className = 'token-actions';
    if (!tok.revoked) {
      if (confirming === tok.id) {
        const q = document.createElement('span');
        q.textContent = t('console.tokens.confirm', { name: iso(tok.name || t('console.interp.unnamed')) });
        const yes = button(t('console.tokens.revoke_confirm'), 'danger', 'yes-' + tok.id);
        yes.dataset.revokeConfirm = tok.id;
        yes.addEventListener('click', () => revoke(tok));
        const no = button(t('console.tokens.cancel'), '', 'no-' + tok.id);
        no.addEventListener('click', () => {
          confirming = '';
          paint();
          focusKey('rev-' + tok.id);
        });
        act.append(q, ' ', yes, ' ', no);
      } else {
        const b = button(t('console.tokens.revoke'), '', 'rev-' + tok.id);
        b.dataset.revoke = tok.id;
        b.setAttribute('aria-describedby', nameCell.id);
        b.addEventListener('click', () => {
          confirming = tok.id;
          paint();
          focusKey('yes-' + tok.id);
        });
        act.append(b);
      }
    }
    tr.append(nameCell, cell(roleName(tok.role)), cell(tok.lang ? nameOf(tok.lang) : t('console.none')), cell(Number.isNaN(created.getTime()) ? '' : dateTime(created)), live, act);
    frag.append(tr);
  }
  el.rows.replaceChildren(frag);
  if (had) focusKey(had);
}

function chip(text) {
  const s = document.createElement('span');
  s.className = 'chip';
  s.textContent = text;
  return s;
}

function button(text, cls, key) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small ' + cls;
  b.textContent = text;
  b.dataset.focusKey = key;
  return b;
}

function focusKey(key) {
  const b = el.rows.querySelector('[data-focus-key="' + key + '"]');
  if (b) b.focus();
}

async function revoke(tok) {
  const entry = { id: tok.id, name: tok.name, clickedAt: Date.now(), answeredAt: 0, ok: false };
  revocations.push(entry);
  const r = await revokeToken(tok.id);
  entry.answeredAt = Date.now();
  entry.ok = r.ok;
  confirming = '';
  record({ kind: 'revoke', id: tok.id, ok: r.ok });
  if (r.ok && session.you && session.you.id === tok.id) {
    // This console's own token: it is closed in a moment, and says so.
    endTokens();
    showStatus(el.status, t('console.tokens.revoked_one', { name: iso(tok.name || t('console.interp.unnamed')) }));
    return;
  }
  if (r.ok) {
    const s = t('console.tokens.revoked_one', { name: iso(tok.name || t('console.interp.unnamed')) });
    showStatus(el.status, s);
    say(s);
  } else showStatus(el.status, t('console.error.refused', { error: r.error }), 15000);
  await refresh();
  el.name.focus();
}

function paintRole() {
  setHidden(el.langField, el.role.value !== 'interpreter');
}

async function create(ev) {
  ev.preventDefault();
  const name = el.name.value.trim();
  if (!name) {
    showStatus(el.status, t('console.tokens.name_needed'));
    el.name.focus();
    return;
  }
  const body = { role: el.role.value, name };
  if (body.role === 'interpreter') body.lang = el.lang.value;
  const r = await createToken(body);
  if (!r.ok || !r.data || !r.data.link) {
    showStatus(el.status, t('console.error.refused', { error: r.error }), 15000);
    return;
  }
  el.name.value = '';
  el.link.value = r.data.link;
  el.fresh.hidden = false;
  const s = t('console.tokens.created_one', { name: iso(name) });
  showStatus(el.status, s);
  say(s);
  record({ kind: 'token', role: body.role, lang: body.lang || '' });
  el.link.focus();
  el.link.select();
  refresh();
}

async function copyLink() {
  let ok = false;
  try {
    await navigator.clipboard.writeText(el.link.value);
    ok = true;
  } catch (e) {
    el.link.select();
    try {
      ok = document.execCommand('copy');
    } catch (e2) {
      ok = false;
    }
  }
  showStatus(el.status, t(ok ? 'console.tokens.copied' : 'console.tokens.copy_failed'));
}

// endTokens stops asking the API once this console's token is gone.
export function endTokens() {
  ended = true;
  window.clearInterval(refreshTimer);
  refreshTimer = 0;
  el.create.disabled = true;
}

export function openTokens() {
  if (!el.dialog.open) el.dialog.showModal();
  paintRole();
  refresh();
  window.clearInterval(refreshTimer);
  // The live sessions change as people come and go.
  refreshTimer = window.setInterval(refresh, 3000);
  el.name.focus();
}

function closed() {
  window.clearInterval(refreshTimer);
  refreshTimer = 0;
  confirming = '';
  // The secret was shown once: it does not stay on the page.
  el.link.value = '';
  el.fresh.hidden = true;
  setText(el.status, '');
  el.open.focus();
}

export function bindTokens() {
  el.open.addEventListener('click', openTokens);
  el.close.addEventListener('click', () => el.dialog.close());
  el.dialog.addEventListener('close', closed);
  el.role.addEventListener('change', paintRole);
  el.form.addEventListener('submit', create);
  el.copy.addEventListener('click', copyLink);
}
