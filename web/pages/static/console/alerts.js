// Booth traffic: every booth's "slow down" and message to the producer, as an
// alert in the list (announced at once), a sound, and a flag on the booth's
// card; each alert can be answered (a notice to that booth) or dismissed.
// The notice to every booth is sent from here too.

import { notice } from './api.js';
import { beep, unlock } from './audio.js';
import { $, MAX_TEXT, cardOf, clockTime, iso, nameOf, record, setHidden, showStatus, t, ui } from './page.js';

export const shown = []; // {n, kind, lang, sender, text, at, shownAt, dismissed, replies, beeped}
let seq = 0;
const flagTimers = {};

const textLength = (s) => Array.from(s).length;

export function onSignal(m) {
  const kind = m.kind === 'slow_down' ? 'slow_down' : 'message';
  const lang = typeof m.lang === 'string' ? m.lang : '';
  const from = m.from && typeof m.from === 'object' ? String(m.from.name || '') : '';
  const text = typeof m.text === 'string' ? m.text : '';
  const at = m.at ? new Date(m.at) : new Date();
  const a = { n: ++seq, kind, lang, from, text, at: Number.isNaN(at.getTime()) ? Date.now() : at.getTime(), shownAt: 0, dismissed: false, replies: 0, beeped: false };
  const li = item(a);
  ui.alerts.prepend(li);
  while (ui.alerts.children.length > 50) ui.alerts.lastElementChild.remove();
  setHidden(ui.alertsNone, true);
  a.shownAt = Date.now();
  a.beeped = beep(kind);
  shown.push(a);
  if (shown.length > 200) shown.shift();
  flagCard(a);
  record({ kind: 'alert', alert: kind, lang, from });
}

function who(a) {
  return iso(a.from || t('console.interp.unnamed'));
}

function item(a) {
  const li = document.createElement('li');
  li.className = 'alert';
  li.dataset.kind = a.kind;
  li.dataset.lang = a.lang;
  li.id = 'alert-' + a.n;
  const head = document.createElement('p');
  head.className = 'alert-head';
  const kind = document.createElement('strong');
  kind.className = 'alert-kind';
  kind.textContent = t(a.kind === 'slow_down' ? 'console.alert.slow_down' : 'console.alert.message');
  const lang = document.createElement('span');
  lang.className = 'alert-lang';
  lang.lang = a.lang;
  lang.textContent = nameOf(a.lang);
  const time = document.createElement('time');
  const d = new Date(a.at);
  time.dateTime = d.toISOString();
  time.textContent = clockTime(d);
  head.append(kind, ' ', lang, ' ', time);
  const body = document.createElement('p');
  body.className = 'alert-text';
  if (a.kind === 'slow_down') body.textContent = t('console.alert.slow_down_from', { name: who(a) });
  else {
    const b = document.createElement('bdi');
    b.textContent = a.text;
    body.append(t('console.alert.from', { name: who(a) }), ' ', b);
  }
  const actions = document.createElement('div');
  actions.className = 'alert-actions';
  const reply = button(t('console.alert.reply'), 'reply');
  const dismiss = button(t('console.alert.dismiss'), 'dismiss');
  reply.setAttribute('aria-describedby', li.id + '-text');
  dismiss.setAttribute('aria-describedby', li.id + '-text');
  body.id = li.id + '-text';
  actions.append(reply, dismiss);

  const form = document.createElement('form');
  form.className = 'reply send';
  form.hidden = true;
  const label = document.createElement('label');
  label.htmlFor = li.id + '-input';
  label.textContent = t('console.alert.reply_to', { name: who(a), lang: nameOf(a.lang) });
  const row = document.createElement('div');
  row.className = 'send-row';
  const input = document.createElement('input');
  input.type = 'text';
  input.id = li.id + '-input';
  input.maxLength = MAX_TEXT;
  input.autocomplete = 'off';
  const send = button(t('console.notice.send'), 'send');
  send.type = 'submit';
  row.append(input, send);
  const st = document.createElement('p');
  st.className = 'status-line';
  st.setAttribute('role', 'status');
  form.append(label, row, st);

  reply.addEventListener('click', () => {
    unlock();
    form.hidden = !form.hidden;
    reply.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) input.focus();
  });
  reply.setAttribute('aria-expanded', 'false');
  dismiss.addEventListener('click', () => {
    a.dismissed = true;
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    clearFlag(a.lang);
    setHidden(ui.alertsNone, ui.alerts.children.length > 0);
    const focus = next && next.querySelector('button');
    (focus || ui.noticeInput).focus();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ok = await sendNotice(a.lang, input, st);
    if (ok) {
      a.replies++;
      li.dataset.answered = 'true';
    }
  });
  head.append(actions);
  li.append(head, body, form);
  return li;
}

function button(text, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small ' + cls;
  b.textContent = text;
  return b;
}

// flagCard shows the alert on the booth's card for a while.
function flagCard(a) {
  const i = cardOf(a.lang);
  const flag = i >= 0 ? $('c' + i + '-alert') : null;
  if (!flag) return;
  flag.textContent = a.kind === 'slow_down' ? t('console.alert.slow_down_from', { name: who(a) }) : t('console.alert.card_message', { name: who(a) });
  flag.dataset.kind = a.kind;
  flag.hidden = false;
  $('c' + i).dataset.alert = a.kind;
  window.clearTimeout(flagTimers[a.lang]);
  flagTimers[a.lang] = window.setTimeout(() => clearFlag(a.lang), 20000);
}

function clearFlag(lang) {
  const i = cardOf(lang);
  if (i < 0) return;
  const flag = $('c' + i + '-alert');
  if (flag) flag.hidden = true;
  delete $('c' + i).dataset.alert;
}

// sendNotice posts the text of input to one booth (lang) or every booth
// (""), and writes the outcome in status. It resolves to whether it went.
export async function sendNotice(lang, input, status) {
  const text = input.value.trim();
  if (!text) return false;
  if (textLength(text) > MAX_TEXT) {
    showStatus(status, t('console.notice.too_long', { max: MAX_TEXT }));
    return false;
  }
  const r = await notice(lang, text);
  if (!r.ok) {
    status.dataset.error = 'true';
    showStatus(status, t('console.error.refused', { error: r.error }), 15000);
    return false;
  }
  input.value = '';
  status.dataset.error = 'false';
  const n = r.data && Number.isFinite(r.data.booths) ? r.data.booths : 1;
  showStatus(status, lang ? t('console.notice.sent_one', { lang: nameOf(lang) }) : t('console.notice.sent_all', { n }));
  record({ kind: 'notice', lang, ok: true });
  return true;
}

export function bindNotice() {
  ui.noticeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendNotice('', ui.noticeInput, ui.noticeStatus);
  });
}

// alertsShown lists the alerts on the page for the test hook.
export function alertsShown() {
  return shown.map((a) => ({ kind: a.kind, lang: a.lang, from: a.from, text: a.text, at: a.at, shownAt: a.shownAt, dismissed: a.dismissed, replies: a.replies, beeped: a.beeped }));
}
