// Interpreter booth: one WebSocket to the server (docs/booth-protocol.md) for
// the booth's state, chat and signals, and one RTCPeerConnection for audio:
// the server offers floor, relay and partner streams and receives the
// interpreter's microphone. The microphone goes out raw (no echo
// cancellation, noise suppression or gain control); what the interpreter
// hears runs through Web Audio: one gain per source for the sliders and a
// limiter that protects the ears. Every visible string comes from the message
// catalog the server embeds in the page.
(function () {
  'use strict';

  const C = window.tolkCommon;
  const $ = (id) => document.getElementById(id);
  const config = C.readJSON('tolk-config') || {};
  const t = C.translator(C.readJSON('tolk-messages') || {});
  const store = C.storage('tolk.booth.');

  const ui = {
    conn: $('conn'),
    connText: $('conn-text'),
    rtt: $('rtt'),
    reconnect: $('reconnect'),
    audioNotice: $('audio-notice'),
    audioStart: $('audio-start'),
    micNotice: $('mic-notice'),
    micError: $('mic-error'),
    micRetry: $('mic-retry'),
    warning: $('warning'),
    onair: $('onair'),
    onairText: $('onair-text'),
    onairWho: $('onair-who'),
    mic: $('mic'),
    micBadge: $('mic-badge'),
    cough: $('cough'),
    handover: $('handover'),
    accept: $('accept'),
    cancel: $('cancel'),
    take: $('take'),
    handoverStatus: $('handover-status'),
    slowDown: $('slow-down'),
    slowDownStatus: $('slow-down-status'),
    refused: $('refused'),
    input: $('input'),
    volInput: $('vol-input'),
    volInputValue: $('vol-input-value'),
    volPartner: $('vol-partner'),
    volPartnerValue: $('vol-partner-value'),
    members: $('members'),
    membersNone: $('members-none'),
    chatLog: $('chat-log'),
    chatForm: $('chat-form'),
    chatInput: $('chat-input'),
    chatStatus: $('chat-status'),
    producerForm: $('producer-form'),
    producerInput: $('producer-input'),
    producerStatus: $('producer-status'),
    announce: $('announce'),
  };

  const STREAMS = ['floor', 'relay', 'partner'];
  const MAX_TEXT = 500;
  const PING_MS = 2000;
  const PONG_LOSS = 3; // unanswered pings before the socket counts as dead

  // ---- announcements --------------------------------------------------------
  // One polite live region for every change of state. Changes made in the
  // same moment are read as one sentence; a repeated sentence is read again.

  let pendingSay = [];
  let sayTimer = 0;

  function say(text) {
    if (!text) return;
    pendingSay.push(text);
    if (sayTimer) return;
    sayTimer = window.setTimeout(() => {
      sayTimer = 0;
      const s = pendingSay.join(' ');
      pendingSay = [];
      if (ui.announce.textContent === s) {
        ui.announce.textContent = '';
        window.setTimeout(() => (ui.announce.textContent = s), 60);
      } else {
        ui.announce.textContent = s;
      }
    }, 80);
  }

  function setText(el, s) {
    if (el && el.textContent !== s) el.textContent = s;
  }

  // ---- history (for tests and diagnosis) -------------------------------------

  const history = [];
  function record(entry) {
    entry.at = Math.round(performance.now());
    history.push(entry);
    if (history.length > 500) history.shift();
  }

  // ---- connection state --------------------------------------------------------
  // connecting → connected (socket welcomed and audio flowing) → reconnecting
  // (socket or audio lost, trying again) → connected …; replaced and error
  // are final until the interpreter asks again.

  let conn = '';
  let connReason = '';
  let everConnected = false;
  let fatal = ''; // reason of a refusal that retrying will not heal
  let replaced = false;
  let ws = null;
  let wsOpen = false;
  let welcomed = false;
  let wsAttempts = 0;
  let wsTimer = 0;
  let retryAt = 0;
  let lastClose = null;
  let countdownTimer = 0;

  const connKeys = {
    connecting: 'booth.conn.connecting',
    connected: 'booth.conn.connected',
    reconnecting: 'booth.conn.reconnecting',
    replaced: 'booth.conn.replaced',
    error: 'booth.conn.error',
  };

  function deriveConn() {
    if (fatal) return ['error', fatal];
    if (replaced) return ['replaced', ''];
    const mediaUp = media && media.state === 'connected';
    if (wsOpen && welcomed && mediaUp) return ['connected', ''];
    let reason = '';
    if (!wsOpen) reason = lastClose ? t('booth.error.network') : '';
    else if (media && (media.state === 'failed' || media.state === 'disconnected')) reason = t('booth.error.media');
    return [everConnected || wsAttempts > 0 ? 'reconnecting' : 'connecting', reason];
  }

  function refreshConn() {
    const [s, reason] = deriveConn();
    if (s === 'connected') everConnected = true;
    const changed = s !== conn || reason !== connReason;
    conn = s;
    connReason = reason;
    if (changed) {
      record({ kind: 'conn', state: s, reason });
      if (s === 'error') say(t('booth.conn.error', { reason }));
      else say(t(connKeys[s]));
    }
    paintConn();
    ui.reconnect.hidden = s !== 'replaced' && s !== 'error';
    document.documentElement.dataset.state = s;
    paintControls();
  }

  function paintConn() {
    let text;
    if (conn === 'error') text = t('booth.conn.error', { reason: connReason });
    else if (conn === 'reconnecting' && !wsOpen && retryAt > performance.now()) {
      text = t('booth.conn.retry_in', { seconds: Math.ceil((retryAt - performance.now()) / 1000) });
    } else text = t(connKeys[conn] || connKeys.connecting);
    setText(ui.connText, text);
    ui.conn.dataset.state = conn;
    window.clearTimeout(countdownTimer);
    if (conn === 'reconnecting' && !wsOpen && retryAt > performance.now()) {
      countdownTimer = window.setTimeout(paintConn, 250);
    }
  }

  // ---- WebSocket --------------------------------------------------------------------

  // probeURL is the socket's URL over HTTP, to learn why an upgrade failed.
  function probeURL() {
    const u = new URL(C.wsURL(config.ws));
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    return u.href;
  }

  function connect() {
    window.clearTimeout(wsTimer);
    retryAt = 0;
    if (fatal || replaced || (ws && ws.readyState <= 1)) return;
    let sock;
    try {
      sock = new WebSocket(C.wsURL(config.ws));
    } catch (e) {
      fatal = t('booth.error.unsupported');
      refreshConn();
      return;
    }
    ws = sock;
    let opened = false;
    sock.addEventListener('open', () => {
      if (ws !== sock) return;
      opened = true;
      wsOpen = true;
      startPing();
      refreshConn();
    });
    sock.addEventListener('message', (ev) => {
      if (ws === sock) onMessage(ev.data);
    });
    sock.addEventListener('close', (ev) => {
      if (ws === sock) dropped(sock, ev.code, opened);
    });
    refreshConn();
  }

  // dropped handles the end of a socket: ours, the server's, or a dead one.
  async function dropped(sock, code, opened) {
    ws = null;
    wsOpen = false;
    welcomed = false;
    stopPing();
    closeMedia();
    lastClose = { code, opened, at: Math.round(performance.now()) };
    try {
      sock.close();
    } catch (e) {
      // already closed
    }
    if (code === 4001 || replaced) {
      replaced = true;
      refreshConn();
      return;
    }
    // An application close in the 44xx range says the token was refused
    // while connected (revoked, or the booth removed).
    if (code === 4401 || code === 4403 || code === 4404) {
      fatal = refusalReason(code - 4000);
      refreshConn();
      return;
    }
    if (!opened) {
      // A refused upgrade looks like any network failure to a WebSocket;
      // ask the same URL over plain HTTP to tell "not allowed" from "down".
      const status = await probeStatus();
      if (status === 401 || status === 403 || status === 404) {
        fatal = refusalReason(status);
        refreshConn();
        return;
      }
    }
    scheduleReconnect();
  }

  function refusalReason(status) {
    if (status === 401) return t('booth.error.unauthorized');
    if (status === 403) return t('booth.error.forbidden');
    return t('booth.error.not_found');
  }

  async function probeStatus() {
    const ctl = new AbortController();
    const timer = window.setTimeout(() => ctl.abort(), 5000);
    try {
      const res = await fetch(probeURL(), { cache: 'no-store', credentials: 'same-origin', signal: ctl.signal });
      return res.status;
    } catch (e) {
      return 0;
    } finally {
      window.clearTimeout(timer);
    }
  }

  function scheduleReconnect() {
    window.clearTimeout(wsTimer);
    wsAttempts++;
    const delay = C.backoff(wsAttempts, 15000);
    retryAt = performance.now() + delay;
    wsTimer = window.setTimeout(connect, delay);
    refreshConn();
  }

  // reconnectNow skips the wait (network back, or the interpreter asked).
  function reconnectNow() {
    if (ws) return;
    fatal = '';
    replaced = false;
    wsAttempts = Math.max(wsAttempts, 1);
    connect();
  }

  function send(msg) {
    if (!ws || !wsOpen || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(msg));
      return true;
    } catch (e) {
      return false;
    }
  }

  // ---- ping ------------------------------------------------------------------------

  let pingTimer = 0;
  let unanswered = 0;
  const rtt = { ws: null, media: null };

  function startPing() {
    stopPing();
    unanswered = 0;
    const tick = () => {
      if (unanswered >= PONG_LOSS && ws) {
        // A half-open connection can stay "open" for minutes: end it here.
        const sock = ws;
        dropped(sock, 4000, true);
        return;
      }
      unanswered++;
      send({ type: 'ping', t: Math.round(performance.now() * 1000) / 1000 });
      pollStats();
    };
    tick();
    pingTimer = window.setInterval(tick, PING_MS);
  }

  function stopPing() {
    window.clearInterval(pingTimer);
    pingTimer = 0;
  }

  function onPong(m) {
    unanswered = 0;
    const sent = Number(m.t);
    if (!Number.isFinite(sent)) return;
    const d = performance.now() - sent;
    if (d >= 0 && d < 60000) rtt.ws = d;
    paintRTT();
  }

  function paintRTT() {
    const ms = (x) => (x === null ? '–' : String(Math.round(x)));
    const s = rtt.ws === null && rtt.media === null ? t('booth.rtt.unknown') : t('booth.rtt.value', { ws: ms(rtt.ws), media: ms(rtt.media) });
    setText(ui.rtt, s);
  }

  // ---- messages from the server -------------------------------------------------------

  let me = null; // {id, name}
  let floor = config.floor || { tag: '', name: '' };
  let relays = Array.isArray(config.relays) ? config.relays : [];

  function onMessage(data) {
    if (typeof data !== 'string' || data.length > 65536) return;
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'welcome':
        onWelcome(m);
        break;
      case 'offer':
        if (typeof m.sdp === 'string') queueOffer(m.sdp);
        break;
      case 'state':
        onState(m);
        break;
      case 'chat':
        onChat(m);
        break;
      case 'signal':
        onSignal(m);
        break;
      case 'pong':
        onPong(m);
        break;
      case 'error':
        onRefused(m);
        break;
      case 'replaced':
        replaced = true;
        refreshConn();
        break;
      default:
      // A newer server may say more; what this page does not know it ignores.
    }
  }

  function onWelcome(m) {
    welcomed = true;
    wsAttempts = 0;
    lastClose = null;
    if (m.you && m.you.id !== undefined) me = { id: String(m.you.id), name: String(m.you.name || '') };
    if (m.floor && m.floor.tag) floor = { tag: String(m.floor.tag), name: String(m.floor.name || m.floor.tag) };
    if (Array.isArray(m.relays)) {
      relays = m.relays.filter((r) => r && r.tag).map((r) => ({ tag: String(r.tag), name: String(r.name || r.tag) }));
    }
    fillInputs();
    record({ kind: 'welcome', you: me ? me.id : null });
    // A cough held across a reconnect is still held.
    if (coughHeld) send({ type: 'cough', down: true });
    refreshConn();
  }

  function onRefused(m) {
    const keys = {
      not_allowed: 'booth.refused.not_allowed',
      bad_state: 'booth.refused.bad_state',
      bad_message: 'booth.refused.bad_message',
    };
    const s = t(keys[m.code] || 'booth.refused.other');
    record({ kind: 'refused', code: String(m.code || '') });
    showStatus(ui.refused, s);
    say(s);
  }

  // showStatus writes a transient line that clears itself after a while.
  function showStatus(el, s, ms) {
    setText(el, s);
    window.clearTimeout(el._timer);
    el._timer = window.setTimeout(() => setText(el, ''), ms || 8000);
  }

  // ---- booth state --------------------------------------------------------------

  let booth = { members: [], on_air: null, handover: null, warning: null, input: 'floor', direct_take: false };
  let haveState = false;

  const idOf = (x) => (x === null || x === undefined ? null : String(x));

  function onState(m) {
    const next = {
      members: Array.isArray(m.members)
        ? m.members.filter((x) => x && x.id !== undefined).map((x) => ({
          id: String(x.id),
          name: String(x.name || ''),
          connected: !!x.connected,
          mic: !!x.mic,
          cough: !!x.cough,
          on_air: !!x.on_air,
        }))
        : [],
      on_air: idOf(m.on_air),
      handover: m.handover && m.handover.from !== undefined ? { from: idOf(m.handover.from), to: idOf(m.handover.to) } : null,
      warning: m.warning ? String(m.warning) : null,
      input: typeof m.input === 'string' && m.input ? m.input : booth.input,
      direct_take: !!m.direct_take,
    };
    const prev = haveState ? booth : null;
    booth = next;
    haveState = true;
    announceChanges(prev, next);
    record({
      kind: 'booth',
      onAir: onAirOf(next),
      mic: myMic(next),
      handover: handoverRole(next),
      warning: next.warning,
      input: next.input,
      members: next.members.length,
    });
    paintBooth();
  }

  const isMe = (id) => !!me && id !== null && id === me.id;
  const member = (s, id) => s.members.find((x) => x.id === id) || null;
  // Names are isolated from the sentence around them, so that a Latin name
  // in an Arabic sentence (or the reverse) keeps both in order.
  const iso = (s) => '\u2068' + s + '\u2069';
  const nameOf = (s, id) => {
    const x = member(s, id);
    return iso(x && x.name ? x.name : t('booth.members.unnamed'));
  };
  const partners = (s) => s.members.filter((x) => !isMe(x.id));

  function onAirOf(s) {
    if (!s.on_air) return 'off';
    return isMe(s.on_air) ? 'on' : 'partner';
  }

  function myMic(s) {
    const x = me ? member(s, me.id) : null;
    return !!(x && x.mic);
  }

  // handoverRole is 'offered' (by me), 'incoming' (to me), 'other' or null.
  function handoverRole(s) {
    if (!s.handover) return null;
    if (isMe(s.handover.from)) return 'offered';
    if (isMe(s.handover.to)) return 'incoming';
    return 'other';
  }

  function inputName(input) {
    if (!input || input === 'floor') return t('booth.input.floor', { name: floor.name || floor.tag });
    const tag = input.replace(/^relay:/, '');
    const r = relays.find((x) => x.tag === tag);
    return t('booth.input.relay', { name: r ? r.name : tag });
  }

  function announceChanges(prev, s) {
    const air = onAirOf(s);
    if (!prev || air !== onAirOf(prev) || (air === 'partner' && prev.on_air !== s.on_air)) {
      if (air === 'on') say(t('booth.announce.on_air'));
      else if (air === 'partner') say(t('booth.announce.partner_on_air', { name: nameOf(s, s.on_air) }));
      else if (prev) say(t('booth.announce.off_air'));
    }
    if (prev && myMic(prev) !== myMic(s)) say(t(myMic(s) ? 'booth.announce.mic_open' : 'booth.announce.mic_closed'));
    const hr = handoverRole(s);
    const phr = prev ? handoverRole(prev) : null;
    if (hr !== phr || (s.handover && prev && prev.handover && s.handover.to !== prev.handover.to)) {
      if (hr === 'incoming') say(t('booth.handover.incoming', { name: nameOf(s, s.handover.from) }));
      else if (hr === 'offered') say(t('booth.handover.offered', { name: nameOf(s, s.handover.to) }));
      else if (phr && prev.on_air === s.on_air) say(t('booth.announce.handover_withdrawn'));
    }
    if ((s.warning === 'two_mics_open') !== !!(prev && prev.warning === 'two_mics_open')) {
      if (s.warning === 'two_mics_open') say(t('booth.warning.two_mics'));
      else if (prev) say(t('booth.announce.warning_cleared'));
    }
    if (prev) {
      for (const x of partners(s)) {
        const before = member(prev, x.id);
        const name = iso(x.name || t('booth.members.unnamed'));
        if (x.connected && (!before || !before.connected)) say(t('booth.announce.partner_joined', { name }));
        if (!x.connected && before && before.connected) say(t('booth.announce.partner_left', { name }));
        if (before && x.connected && before.mic !== x.mic && !(x.on_air !== before.on_air)) {
          say(t(x.mic ? 'booth.announce.partner_mic_open' : 'booth.announce.partner_mic_closed', { name }));
        }
      }
      for (const x of partners(prev)) {
        if (x.connected && !member(s, x.id)) say(t('booth.announce.partner_left', { name: iso(x.name || t('booth.members.unnamed')) }));
      }
      if (prev.input !== s.input) say(t('booth.announce.input', { name: inputName(s.input) }));
    }
  }

  // ---- painting -------------------------------------------------------------------

  function enable(btn, on) {
    btn.setAttribute('aria-disabled', on ? 'false' : 'true');
  }
  const enabled = (btn) => btn.getAttribute('aria-disabled') !== 'true';

  function paintControls() {
    const live = wsOpen && welcomed && !!me;
    const s = booth;
    const hr = handoverRole(s);
    const partnerHere = partners(s).some((x) => x.connected);
    // Without a microphone nothing may put this interpreter on air (it would
    // be silence on air); closing an open one is always possible.
    const canSpeak = !!mic.track;
    enable(ui.mic, live && (canSpeak || myMic(s)));
    enable(ui.cough, live && canSpeak);
    enable(ui.handover, live && isMe(s.on_air) && !s.handover && partnerHere);
    enable(ui.accept, live && canSpeak && hr === 'incoming');
    enable(ui.cancel, live && hr === 'offered');
    enable(ui.take, live && canSpeak && !isMe(s.on_air) && (s.on_air === null || s.direct_take));
    enable(ui.slowDown, live);
    // What the page last heard may be out of date while it is not connected.
    ui.onair.dataset.stale = String(!live);
  }

  function paintBooth() {
    const s = booth;
    const air = onAirOf(s);
    ui.onair.dataset.state = air;
    setText(ui.onairText, t(air === 'on' ? 'booth.onair.on' : air === 'partner' ? 'booth.onair.partner' : 'booth.onair.off'));
    setText(ui.onairWho, air === 'partner' ? nameOf(s, s.on_air) : '');

    const open = myMic(s);
    ui.mic.setAttribute('aria-pressed', open ? 'true' : 'false');
    setText(ui.micBadge, t(open ? 'booth.mic.open' : 'booth.mic.closed'));

    const hr = handoverRole(s);
    let hs = '';
    if (hr === 'incoming') hs = t('booth.handover.incoming', { name: nameOf(s, s.handover.from) });
    else if (hr === 'offered') hs = t('booth.handover.offered', { name: nameOf(s, s.handover.to) });
    else if (hr === 'other') hs = t('booth.handover.between', { from: nameOf(s, s.handover.from), to: nameOf(s, s.handover.to) });
    setText(ui.handoverStatus, hs);
    ui.handoverStatus.dataset.role = hr || '';

    ui.warning.hidden = s.warning !== 'two_mics_open';
    if (ui.input.value !== s.input && Array.from(ui.input.options).some((o) => o.value === s.input)) ui.input.value = s.input;
    paintMembers();
    applyGains();
    paintControls();
  }

  function paintMembers() {
    const list = booth.members;
    ui.membersNone.hidden = partners(booth).length > 0;
    const frag = document.createDocumentFragment();
    for (const x of list) {
      const li = document.createElement('li');
      li.className = 'member';
      li.dataset.connected = String(x.connected);
      li.dataset.onAir = String(booth.on_air === x.id);
      li.dataset.self = String(isMe(x.id));
      const name = document.createElement('span');
      name.className = 'member-name';
      const n = iso(x.name || t('booth.members.unnamed'));
      name.textContent = isMe(x.id) ? t('booth.members.you', { name: n }) : n;
      li.appendChild(name);
      const tags = [];
      tags.push(['presence', t(x.connected ? 'booth.members.connected' : 'booth.members.away')]);
      tags.push(['mic', t(x.mic ? 'booth.members.mic_open' : 'booth.members.mic_closed')]);
      if (booth.on_air === x.id) tags.push(['air', t('booth.members.on_air')]);
      if (x.cough) tags.push(['cough', t('booth.members.coughing')]);
      for (const [kind, text] of tags) {
        const b = document.createElement('span');
        b.className = 'tag tag-' + kind;
        if (kind === 'mic') b.dataset.on = String(x.mic);
        b.textContent = text;
        li.appendChild(document.createTextNode(' '));
        li.appendChild(b);
      }
      frag.appendChild(li);
    }
    ui.members.replaceChildren(frag);
  }

  function fillInputs() {
    const want = ui.input.value;
    const opts = [['floor', t('booth.input.floor', { name: floor.name || floor.tag }), floor.tag]];
    for (const r of relays) opts.push(['relay:' + r.tag, t('booth.input.relay', { name: r.name }), r.tag]);
    const same = opts.length === ui.input.options.length &&
      opts.every((o, i) => ui.input.options[i].value === o[0] && ui.input.options[i].textContent === o[1]);
    if (same) return;
    ui.input.replaceChildren(...opts.map(([value, text, lang]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      if (lang) o.lang = lang;
      return o;
    }));
    const keep = booth.input || want;
    ui.input.value = opts.some((o) => o[0] === keep) ? keep : 'floor';
  }

  // ---- chat and signals ------------------------------------------------------------

  const chatLines = [];
  const timeFmt = (() => {
    try {
      return new Intl.DateTimeFormat(config.locale || undefined, { hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return null;
    }
  })();

  function onChat(m) {
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
    time.textContent = timeFmt ? timeFmt.format(d) : d.toISOString().slice(11, 16);
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

  function onSignal(m) {
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

  ui.chatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendText('chat', ui.chatInput, ui.chatStatus, '');
  });
  ui.producerForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendText('to_producer', ui.producerInput, ui.producerStatus, 'booth.producer.sent');
  });

  // ---- controls ----------------------------------------------------------------------

  function toggleMic() {
    if (!enabled(ui.mic)) return;
    const on = !myMic(booth);
    if (on && !mic.track) return;
    send({ type: 'mic', on });
  }

  function doHandoverKey() {
    const hr = handoverRole(booth);
    if (hr === 'incoming') click(ui.accept, 'accept');
    else if (!booth.handover && isMe(booth.on_air)) click(ui.handover, 'handover');
  }

  function click(btn, type) {
    if (!enabled(btn)) return;
    send({ type });
  }

  ui.mic.addEventListener('click', toggleMic);
  ui.handover.addEventListener('click', () => click(ui.handover, 'handover'));
  ui.accept.addEventListener('click', () => click(ui.accept, 'accept'));
  ui.cancel.addEventListener('click', () => click(ui.cancel, 'cancel'));
  ui.take.addEventListener('click', () => click(ui.take, 'take'));
  ui.slowDown.addEventListener('click', () => click(ui.slowDown, 'slow_down'));
  ui.reconnect.addEventListener('click', reconnectNow);
  ui.input.addEventListener('change', () => {
    const v = ui.input.value;
    if (!send({ type: 'input', source: v })) ui.input.value = booth.input;
  });

  // Cough: mute while held, by pointer, by the button's own keys, or by C.
  // The track is muted here as well as on the server, so a cough never
  // depends on how fast the message travels.
  let coughHeld = false;
  const coughBy = new Set();

  function cough(source, down) {
    if (down) {
      if (!enabled(ui.cough) && !coughBy.size) return;
      coughBy.add(source);
    } else coughBy.delete(source);
    const held = coughBy.size > 0;
    if (held === coughHeld) return;
    coughHeld = held;
    if (mic.track) mic.track.enabled = !held;
    ui.cough.setAttribute('aria-pressed', held ? 'true' : 'false');
    send({ type: 'cough', down: held });
    record({ kind: 'cough', down: held });
  }

  ui.cough.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    try {
      ui.cough.setPointerCapture(ev.pointerId);
    } catch (e) {
      // capture is a convenience
    }
    cough('pointer', true);
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    ui.cough.addEventListener(type, () => cough('pointer', false));
  }
  ui.cough.addEventListener('keydown', (ev) => {
    if (ev.key !== ' ' && ev.key !== 'Enter') return;
    ev.preventDefault();
    ev.stopPropagation();
    if (!ev.repeat) cough('button-key', true);
  });
  ui.cough.addEventListener('keyup', (ev) => {
    if (ev.key !== ' ' && ev.key !== 'Enter') return;
    ev.preventDefault();
    cough('button-key', false);
  });
  ui.cough.addEventListener('click', (ev) => ev.preventDefault());
  ui.cough.addEventListener('contextmenu', (ev) => ev.preventDefault());

  // Shortcuts: M toggles the microphone, C held coughs, H hands over or
  // accepts. Physical keys (event.code), so every keyboard layout works; never
  // while typing in a field or with a modifier held.
  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
    if (tag !== 'INPUT') return false;
    return !['range', 'button', 'checkbox', 'radio', 'submit', 'reset'].includes(el.type);
  }

  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    switch (ev.code) {
      case 'KeyM':
        ev.preventDefault();
        if (!ev.repeat) toggleMic();
        break;
      case 'KeyC':
        ev.preventDefault();
        if (!ev.repeat) cough('key', true);
        break;
      case 'KeyH':
        ev.preventDefault();
        if (!ev.repeat) doHandoverKey();
        break;
      default:
    }
  });
  document.addEventListener('keyup', (ev) => {
    if (ev.code === 'KeyC') cough('key', false);
  });
  // A key or button released outside the page never arrives: let go on blur.
  const releaseAll = () => {
    for (const s of Array.from(coughBy)) cough(s, false);
  };
  window.addEventListener('blur', releaseAll);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) releaseAll();
  });

  // ---- audio graph -----------------------------------------------------------------------
  // floor, relay, partner: source → analyser → gain → limiter → speakers;
  // mic: source → analyser → (silent) so the meter reads it without sidetone.

  let ctx = null;
  let limiter = null;
  const chains = {}; // name → {analyser, probe, gain, source, el, track}

  function ensureGraph() {
    if (ctx) return true;
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return false;
    try {
      try {
        ctx = new AC({ latencyHint: 'interactive', sampleRate: 48000 });
      } catch (e) {
        ctx = new AC({ latencyHint: 'interactive' });
      }
      limiter = ctx.createDynamicsCompressor();
      limiter.threshold.value = -6;
      limiter.knee.value = 0;
      limiter.ratio.value = 20;
      limiter.attack.value = 0.002;
      limiter.release.value = 0.15;
      limiter.connect(ctx.destination);
      const silent = ctx.createGain();
      silent.gain.value = 0;
      silent.connect(ctx.destination);
      for (const name of STREAMS.concat(['mic'])) {
        const analyser = C.analyser(ctx);
        const gain = ctx.createGain();
        gain.gain.value = 0;
        analyser.connect(gain);
        gain.connect(name === 'mic' ? silent : limiter);
        chains[name] = { analyser, probe: C.probe(analyser), gain, source: null, el: null, track: null };
      }
      ctx.addEventListener('statechange', paintAudioNotice);
    } catch (e) {
      ctx = null;
      return false;
    }
    applyGains();
    paintAudioNotice();
    return true;
  }

  function paintAudioNotice() {
    ui.audioNotice.hidden = !ctx || ctx.state !== 'suspended';
    if (ctx && ctx.state === 'running') startMeters();
  }

  function resumeAudio() {
    if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
  }

  // Perceived loudness follows the square of the slider better than the slider.
  const sliderGain = (el) => Math.pow(Number(el.value) / 100, 2);

  function applyGains() {
    if (!ctx) return;
    const input = booth.input || 'floor';
    const v = sliderGain(ui.volInput);
    const set = (name, g) => chains[name].gain.gain.setTargetAtTime(g, ctx.currentTime, 0.02);
    set('floor', input === 'floor' ? v : 0);
    set('relay', input === 'floor' ? 0 : v);
    set('partner', sliderGain(ui.volPartner));
  }

  // attach routes a received stream into its chain. Chrome hands a remote
  // stream's samples to Web Audio only while a media element plays it, so a
  // muted element plays it too.
  function attach(name, stream, track) {
    if (!ensureGraph()) return;
    const ch = chains[name];
    detach(name);
    const el = document.createElement('audio');
    el.muted = true;
    el.autoplay = true;
    el.srcObject = stream;
    const p = el.play();
    if (p && p.catch) p.catch(() => {});
    ch.el = el;
    ch.track = track;
    try {
      ch.source = ctx.createMediaStreamSource(stream);
      ch.source.connect(ch.analyser);
    } catch (e) {
      ch.source = null;
    }
    record({ kind: 'track', stream: name });
  }

  function detach(name) {
    const ch = chains[name];
    if (!ch) return;
    C.release(ch.source, ch.el);
    ch.source = null;
    ch.el = null;
    ch.track = null;
  }

  function level(name) {
    const ch = chains[name];
    if (!ch || !ch.source) return null;
    return ch.probe.level();
  }

  function peakHz(name) {
    const ch = chains[name];
    if (!ch || !ch.source) return null;
    return ch.probe.peakHz();
  }

  // ---- meters ----------------------------------------------------------------------

  const meterText = { silent: () => t('booth.meter.silent'), value: (db) => t('booth.meter.value', { db }) };
  const meters = {
    mic: C.meter($('mic-meter'), $('mic-meter-cover'), meterText),
    floor: C.meter($('floor-meter'), $('floor-meter-cover'), meterText),
  };
  let meterFrame = 0;

  function drawMeters(now) {
    meterFrame = window.requestAnimationFrame(drawMeters);
    for (const name of ['mic', 'floor']) {
      const l = level(name);
      meters[name].update(l ? l.peakDb : null, now);
    }
  }

  function startMeters() {
    if (!meterFrame && ctx) meterFrame = window.requestAnimationFrame(drawMeters);
  }

  // ---- microphone --------------------------------------------------------------------

  const mic = { stream: null, track: null, error: '', pending: null };

  const MIC_CONSTRAINTS = {
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: false,
    channelCount: 1,
    sampleRate: 48000,
  };

  // ensureMic asks for the microphone once (again when retry is set). A
  // refusal leaves the booth listening: the interpreter sees why and can try
  // again without losing the connection.
  function ensureMic(retry) {
    if (mic.track && mic.track.readyState === 'live') return Promise.resolve(mic.track);
    if (mic.pending) return mic.pending;
    if (mic.error && !retry) return Promise.resolve(null);
    mic.pending = (async () => {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error('unsupported'), { name: 'NotSupportedError' });
      try {
        return await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS, video: false });
      } catch (err) {
        if (err && err.name === 'OverconstrainedError') {
          return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false });
        }
        throw err;
      }
    })()
      .then((stream) => {
        mic.stream = stream;
        mic.track = stream.getAudioTracks()[0] || null;
        mic.error = '';
        if (mic.track) {
          mic.track.enabled = !coughHeld;
          mic.track.addEventListener('ended', () => {
            mic.track = null;
            // A dead microphone must not hold the channel: closing it brings
            // the floor back for the listeners.
            if (myMic(booth)) send({ type: 'mic', on: false });
            showMicError(t('booth.error.mic_ended'));
            refreshMicSender();
          });
          if (ensureGraph()) {
            const ch = chains.mic;
            if (ch.source) ch.source.disconnect();
            ch.source = ctx.createMediaStreamSource(stream);
            ch.source.connect(ch.analyser);
          }
        }
        ui.micNotice.hidden = true;
        record({ kind: 'mic-device', ok: !!mic.track, settings: mic.track && mic.track.getSettings ? mic.track.getSettings() : null });
        refreshMicSender();
        paintControls();
        return mic.track;
      })
      .catch((err) => {
        const name = err && err.name;
        const why = name === 'NotAllowedError' || name === 'SecurityError'
          ? t('booth.error.mic_denied')
          : name === 'NotFoundError' || name === 'OverconstrainedError'
            ? t('booth.error.mic_missing')
            : t('booth.error.mic_failed');
        mic.error = why;
        showMicError(why);
        record({ kind: 'mic-device', ok: false, error: String(name || err) });
        return null;
      })
      .finally(() => {
        mic.pending = null;
      });
    return mic.pending;
  }

  function showMicError(why) {
    setText(ui.micError, t('booth.error.mic', { reason: why }));
    ui.micNotice.hidden = false;
    say(ui.micError.textContent);
    paintControls();
  }

  function refreshMicSender() {
    if (media && media.micSender) media.micSender.replaceTrack(mic.track).catch(() => {});
  }

  // ---- WebRTC -----------------------------------------------------------------------------
  // The server offers; this page answers with every candidate (no trickle).
  // A new offer from the same server session (same o= id) renegotiates the
  // running connection (an ICE restart); any other starts a fresh one.

  let media = null; // {pc, session, state, micSender, streams, restarts, graceTimer, restartTimer}
  let offers = Promise.resolve();

  function queueOffer(sdp) {
    const sock = ws;
    offers = offers.then(() => answer(sdp, sock)).catch((err) => {
      record({ kind: 'media-error', error: String((err && err.message) || err) });
      if (ws === sock && media) {
        media.state = 'failed';
        refreshConn();
        askRestart();
      }
    });
  }

  function sessionOf(sdp) {
    const m = /^o=\S+ (\S+) /m.exec(sdp);
    return m ? m[1] : '';
  }

  // sections splits an SDP into its session part and media sections.
  function sections(sdp) {
    const parts = sdp.split(/\r?\n(?=m=)/);
    return { head: parts[0], media: parts.slice(1) };
  }

  // micMids lists the mids of audio sections the server only receives: where
  // the microphone goes.
  function micMids(sdp) {
    const out = [];
    for (const sec of sections(sdp).media) {
      if (!/^m=audio /.test(sec) || !/^a=recvonly\s*$/m.test(sec)) continue;
      const m = /^a=mid:(\S+)/m.exec(sec);
      if (m) out.push(m[1]);
    }
    return out;
  }

  function newMedia(session) {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    const m = { pc, session, state: 'new', micSender: null, streams: {}, trackStream: {}, restarts: 0, graceTimer: 0, restartTimer: 0 };
    pc.addEventListener('track', (ev) => {
      if (media !== m) return;
      const stream = ev.streams && ev.streams[0];
      const id = stream ? stream.id : '';
      const name = STREAMS.includes(id) ? id : null;
      m.trackStream[ev.track.id] = name || id;
      if (!name) {
        record({ kind: 'track', stream: id, ignored: true });
        return;
      }
      m.streams[name] = ev.track;
      attach(name, stream, ev.track);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (media !== m) return;
      const s = pc.connectionState;
      m.state = s;
      record({ kind: 'media', state: s });
      window.clearTimeout(m.graceTimer);
      if (s === 'connected') {
        window.clearTimeout(m.restartTimer);
        m.restarts = 0;
      } else if (s === 'disconnected') {
        // ICE often recovers by itself within a few seconds.
        m.graceTimer = window.setTimeout(askRestart, 3000);
      } else if (s === 'failed') {
        askRestart();
      }
      refreshConn();
    });
    return m;
  }

  function closeMedia() {
    if (!media) return;
    const m = media;
    media = null;
    window.clearTimeout(m.graceTimer);
    window.clearTimeout(m.restartTimer);
    try {
      m.pc.close();
    } catch (e) {
      // already closed
    }
    for (const name of STREAMS) detach(name);
    rtt.media = null;
    paintRTT();
  }

  // askRestart asks the server for a new offer, again with a growing pause
  // while the audio does not come back. When two new offers have not brought
  // it back, the whole session starts again on a new socket (the server then
  // builds a new peer), rather than leaving the interpreter without sound.
  function askRestart() {
    const m = media;
    if (!m || m.state === 'connected') return;
    window.clearTimeout(m.restartTimer);
    if (m.restarts >= 2 && ws) {
      record({ kind: 'restart', n: m.restarts + 1, session: true });
      dropped(ws, 4000, true);
      return;
    }
    if (send({ type: 'restart' })) {
      m.restarts++;
      record({ kind: 'restart', n: m.restarts });
    }
    m.restartTimer = window.setTimeout(askRestart, 4000 + C.backoff(m.restarts, 8000));
  }

  async function answer(sdp, sock) {
    if (ws !== sock) return;
    ensureGraph();
    // The answer does not wait for the microphone permission: the floor
    // plays at once and the track joins the sender when it arrives.
    ensureMic(false);
    const session = sessionOf(sdp);
    if (!media || media.session !== session || media.pc.signalingState === 'closed') {
      closeMedia();
      media = newMedia(session);
    }
    const m = media;
    const pc = m.pc;
    const mids = micMids(sdp);
    // The offer already states how the microphone is to be encoded (Opus
    // fmtp: FEC, mono, bitrate): the server writes it, the page takes it as is.
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const tr of pc.getTransceivers()) {
      if (tr.stopped || tr.mid === null) continue;
      if (mids.includes(tr.mid)) {
        tr.direction = 'sendonly';
        if (!m.micSender || m.micSender === tr.sender) {
          m.micSender = tr.sender;
          await tr.sender.replaceTrack(mic.track);
        }
      } else if (tr.receiver && tr.receiver.track && tr.receiver.track.kind === 'audio') {
        tr.direction = 'recvonly';
      }
    }
    if (!m.micSender) record({ kind: 'media-error', error: 'offer has no section for the microphone' });
    const ans = await pc.createAnswer();
    await pc.setLocalDescription(ans);
    await C.iceGatheringDone(pc, 5000);
    if (ws !== sock || media !== m) return;
    send({ type: 'answer', sdp: pc.localDescription.sdp });
    record({ kind: 'answer', session, renegotiation: m.answered === true });
    m.answered = true;
  }

  // ---- statistics ----------------------------------------------------------------------

  let statsBusy = false;

  async function pollStats() {
    const m = media;
    if (!m || statsBusy) return;
    statsBusy = true;
    try {
      const report = await m.pc.getStats();
      const pair = selectedPair(report);
      if (media === m) {
        rtt.media = pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
        paintRTT();
      }
    } catch (e) {
      // the connection closed meanwhile
    } finally {
      statsBusy = false;
    }
  }

  function selectedPair(report) {
    let pair = null;
    report.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId) || pair;
    });
    if (pair) return pair;
    report.forEach((r) => {
      if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
    });
    return pair;
  }

  async function rtcStats() {
    const m = media;
    if (!m) return null;
    const report = await m.pc.getStats();
    const codecs = {};
    report.forEach((r) => {
      if (r.type === 'codec') codecs[r.id] = { mimeType: r.mimeType, sdpFmtpLine: r.sdpFmtpLine || '' };
    });
    const inbound = {};
    let outbound = null;
    report.forEach((r) => {
      if (r.kind !== 'audio') return;
      if (r.type === 'inbound-rtp') {
        const name = m.trackStream[r.trackIdentifier] || r.trackIdentifier || r.id;
        inbound[name] = {
          packetsReceived: r.packetsReceived,
          packetsLost: r.packetsLost,
          jitter: r.jitter,
          bytesReceived: r.bytesReceived,
          concealedSamples: r.concealedSamples,
          totalSamplesReceived: r.totalSamplesReceived,
          jitterBufferDelay: r.jitterBufferDelay,
          jitterBufferEmittedCount: r.jitterBufferEmittedCount,
          audioLevel: r.audioLevel,
          codec: codecs[r.codecId] || null,
        };
      } else if (r.type === 'outbound-rtp') {
        outbound = {
          packetsSent: r.packetsSent,
          bytesSent: r.bytesSent,
          targetBitrate: r.targetBitrate,
          codec: codecs[r.codecId] || null,
        };
      }
    });
    const pair = selectedPair(report);
    return {
      connectionState: m.pc.connectionState,
      inbound,
      outbound,
      candidatePair: pair ? { currentRoundTripTime: pair.currentRoundTripTime, state: pair.state } : null,
    };
  }

  // ---- volumes --------------------------------------------------------------------------

  for (const [el, out, key] of [[ui.volInput, ui.volInputValue, 'vol-input'], [ui.volPartner, ui.volPartnerValue, 'vol-partner']]) {
    const saved = store.get(key);
    const v = Number(saved);
    if (saved !== null && v >= 0 && v <= 100) el.value = String(v);
    const show = () => {
      out.value = el.value;
      el.setAttribute('aria-valuetext', t('booth.volume.value', { percent: el.value }));
    };
    show();
    el.addEventListener('input', () => {
      store.set(key, el.value);
      show();
      applyGains();
    });
  }

  // ---- start -------------------------------------------------------------------------------

  ui.audioStart.addEventListener('click', resumeAudio);
  ui.micRetry.addEventListener('click', () => {
    ensureGraph();
    resumeAudio();
    ensureMic(true);
  });
  // Browsers start sound only after a gesture: any press on the page will do.
  document.addEventListener('pointerdown', resumeAudio, true);
  document.addEventListener('keydown', resumeAudio, true);
  window.addEventListener('online', () => {
    if (!ws && !fatal && !replaced) {
      wsAttempts = Math.max(wsAttempts, 1);
      connect();
    }
  });
  window.addEventListener('pagehide', () => {
    if (ws) ws.close(1000);
    closeMedia();
  });

  if (!window.RTCPeerConnection || !window.WebSocket) {
    fatal = t('booth.error.unsupported');
  }
  fillInputs();
  paintBooth();
  paintRTT();
  ensureGraph();
  ensureMic(false);
  connect();
  refreshConn();

  // ---- test hook ------------------------------------------------------------------------------
  // Read-only facts for the browser tests; the page never relies on them.

  const copy = (x) => JSON.parse(JSON.stringify(x));

  // ---- floor captions -----------------------------------------------------------------
  // A strip with the floor's live captions when the floor language has them:
  // a help with names and numbers. It never speaks to a screen reader. When
  // the event says the floor language has none, the strip says so instead.

  const floorCaps = { lang: '', state: 'off', lines: () => [], count: 0, none: false };
  (function floorCaptions() {
    const box = document.getElementById('floor-captions');
    const area = document.getElementById('floor-caption-area');
    const none = document.getElementById('floor-captions-none');
    const floorTag = config.floor && config.floor.tag;
    if (!box || !area || !config.event || !floorTag) return;
    C.eventInfo(config.event).then((info) => {
      if (!info || !Array.isArray(info.captions)) return; // unknown: say nothing
      const c = info.captions.find((x) => x && x.tag === floorTag && typeof x.live === 'string');
      if (!c) {
        if (!none) return;
        area.hidden = true;
        none.hidden = false;
        box.hidden = false;
        floorCaps.none = true;
        return;
      }
      const view = C.captionView(area, { announce: false });
      box.hidden = false;
      floorCaps.lang = c.tag;
      floorCaps.lines = view.lines;
      C.captionFeed(c.live, {
        state: (st) => {
          floorCaps.state = st;
        },
        message: (m) => {
          floorCaps.count++;
          view.show(m);
        },
      });
    });
  })();

  window.tolkBooth = Object.freeze({
    get state() {
      return conn;
    },
    get conn() {
      return {
        state: conn,
        reason: connReason,
        ws: ws ? (wsOpen ? 'open' : 'connecting') : 'closed',
        welcomed,
        media: media ? media.state : 'none',
        attempts: wsAttempts,
        retryInMs: retryAt ? Math.max(0, Math.round(retryAt - performance.now())) : 0,
        lastClose: lastClose ? copy(lastClose) : null,
        restarts: media ? media.restarts : 0,
      };
    },
    get me() {
      return me ? copy(me) : null;
    },
    get mic() {
      return myMic(booth);
    },
    get cough() {
      return coughHeld;
    },
    get input() {
      return booth.input;
    },
    get handover() {
      return handoverRole(booth);
    },
    get warning() {
      return booth.warning;
    },
    get directTake() {
      return booth.direct_take;
    },
    members: () => booth.members.map((x) => Object.assign(copy(x), { self: isMe(x.id) })),
    onAir: () => onAirOf(booth),
    rtt: () => ({ ws: rtt.ws, media: rtt.media }),
    floorLevel: () => level('floor'),
    micLevel: () => level('mic'),
    level,
    peakHz,
    history: () => copy(history),
    chat: () => copy(chatLines),
    audio: () => (ctx ? { state: ctx.state, sampleRate: ctx.sampleRate } : null),
    micSettings: () => (mic.track && mic.track.getSettings ? copy(mic.track.getSettings()) : null),
    rtcStats,
    floorCaptions: () => ({ lang: floorCaps.lang, state: floorCaps.state, lines: floorCaps.lines(), messages: floorCaps.count, none: floorCaps.none }),
  });
  document.documentElement.dataset.ready = 'true';
})();
