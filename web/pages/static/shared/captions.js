// The live caption feed (a WebSocket) and the view that shows it.

import { backoff, wsURL } from './net.js';

// captionFeed keeps a WebSocket to a live caption feed open, reconnecting
// with backoff, and hands each message ({type: "partial"|"cue", lang, start,
// end, text}) to on.message; on.state hears 'connecting', 'live',
// 'reconnecting' and 'off'. close() ends it for good. A socket the server
// closes because the token it came with was revoked (4003) is not
// reopened: on.revoked hears it.
export function captionFeed(path, on) {
  let sock = null;
  let timer = 0;
  let attempts = 0;
  let closed = false;
  const state = (s) => {
    if (on.state) on.state(s);
  };
  function connect() {
    if (closed) return;
    let ws;
    try {
      ws = new WebSocket(wsURL(path));
    } catch (e) {
      again();
      return;
    }
    sock = ws;
    ws.addEventListener('open', () => {
      if (sock !== ws) return;
      attempts = 0;
      state('live');
    });
    ws.addEventListener('message', (ev) => {
      if (sock !== ws || typeof ev.data !== 'string') return;
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (m && (m.type === 'partial' || m.type === 'cue') && typeof m.text === 'string') on.message(m);
    });
    ws.addEventListener('close', (ev) => {
      if (sock !== ws) return;
      sock = null;
      if (ev.code === 4003) {
        closed = true;
        state('off');
        if (on.revoked) on.revoked();
        return;
      }
      again();
    });
  }
  function again() {
    if (closed) return;
    attempts++;
    state('reconnecting');
    timer = window.setTimeout(connect, backoff(attempts, 15000));
  }
  state('connecting');
  connect();
  return {
    close() {
      closed = true;
      window.clearTimeout(timer);
      const ws = sock;
      sock = null;
      if (ws) ws.close();
      state('off');
    },
  };
}

// captionView shows a live caption feed in el: the settled cue in a child
// that screen readers announce politely (once per cue), the line being
// recognized in one they do not (it changes several times a second). CSS
// keeps the last two lines in view. A cue fades after its duration plus a
// moment when nothing follows it. With opts.announce false nothing is
// announced (an interpreter at work must not hear a screen reader).
export function captionView(el, opts) {
  el.textContent = '';
  const cue = document.createElement('div');
  cue.className = 'cap-cue';
  cue.setAttribute('aria-live', opts && opts.announce === false ? 'off' : 'polite');
  cue.setAttribute('aria-atomic', 'true');
  const partial = document.createElement('div');
  partial.className = 'cap-partial';
  partial.setAttribute('aria-live', 'off');
  el.append(cue, partial);
  let fade = 0;
  const setLines = (box, text) => {
    box.textContent = '';
    for (const line of String(text).split('\n')) {
      if (!line.trim()) continue;
      const d = document.createElement('div');
      d.className = 'cap-line';
      d.textContent = line;
      box.append(d);
    }
  };
  const sync = () => {
    el.dataset.empty = cue.childElementCount || partial.childElementCount ? 'false' : 'true';
  };
  sync();
  return {
    show(m) {
      if (m.type === 'cue') {
        window.clearTimeout(fade);
        setLines(partial, '');
        setLines(cue, m.text);
        const hold = Math.min(10000, Math.max(3000, ((Number(m.end) || 0) - (Number(m.start) || 0)) * 1000 + 2000));
        fade = window.setTimeout(() => {
          setLines(cue, '');
          sync();
        }, hold);
      } else {
        setLines(partial, m.text);
      }
      sync();
    },
    clear() {
      window.clearTimeout(fade);
      setLines(cue, '');
      setLines(partial, '');
      sync();
    },
    // lines are the caption lines on screen now, the last two.
    lines() {
      return Array.from(el.querySelectorAll('.cap-line'))
        .map((d) => d.textContent)
        .slice(-2);
    },
  };
}
