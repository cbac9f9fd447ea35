// The booth's chat, its messages to the producer, and the slow-down signal.

import { send } from './conn.js';
import { MAX_TEXT, clockTime, idOf, iso, record, say, setText, showStatus, t, ui } from './page.js';
import { isMe } from './state.js';

export const chatLines = [];

export function onChat(m) {
  const text = String(m.text || '');
  if (!text) return;
  const from = m.from && typeof m.from === 'object' ? m.from : {};
  const at = m.at ? new Date(m.at) : new Date();
  const line = { from: idOf(from.id), name: String(from.name || ''), text, at: Number.isNaN(at.getTime()) ? Date.now() : at.getTime() };
  chatLines.push(line);
  if (chatLines.length > 200) chatLines.shift();
  const li = document.createElement('li');
  li.className = 'chat-line';
  li.dataset.self = String(isMe(line.from));
  const time = document.createElement('time');
  const d = new Date(line.at);
  time.dateTime = d.toISOString();
  time.textContent = clockTime(d);
  const who = document.createElement('span');
  who.className = 'chat-from';
  const n = iso(line.name || t('booth.members.unnamed'));
  who.textContent = isMe(line.from) ? t('booth.members.you', { name: n }) : n;
  const body = document.createElement('bdi');
  body.className = 'chat-text';
  body.textContent = text;
  li.append(time, ' ', who, ' ', body);
  ui.chatLog.appendChild(li);
  while (ui.chatLog.children.length > 200) ui.chatLog.firstElementChild.remove();
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

export function onSignal(m) {
  if (m.kind !== 'slow_down') return;
  const from = m.from && typeof m.from === 'object' ? idOf(m.from.id) : null;
  record({ kind: 'signal', signal: 'slow_down', self: isMe(from) });
  const s = isMe(from) || from === null
    ? t('booth.slowdown.sent')
    : t('booth.slowdown.by', { name: iso(String((m.from && m.from.name) || t('booth.members.unnamed'))) });
  showStatus(ui.slowDownStatus, s);
  say(s);
}

const textLength = (s) => Array.from(s).length;

function sendText(type, input, status, sentKey) {
  const text = input.value.trim();
  if (!text) return;
  if (textLength(text) > MAX_TEXT) {
    showStatus(status, t('booth.text.too_long', { max: MAX_TEXT }));
    return;
  }
  if (!send({ type, text })) {
    showStatus(status, t('booth.text.offline'));
    say(t('booth.text.offline'));
    return;
  }
  input.value = '';
  if (sentKey) {
    showStatus(status, t(sentKey));
    say(t(sentKey));
  } else setText(status, '');
}

// bindChat sends the chat and producer forms.
export function bindChat() {
  ui.chatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendText('chat', ui.chatInput, ui.chatStatus, '');
  });
  ui.producerForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendText('to_producer', ui.producerInput, ui.producerStatus, 'booth.producer.sent');
  });
}
