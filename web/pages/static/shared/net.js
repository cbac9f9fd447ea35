// Network helpers shared by tolk's pages: ICE gathering without trickle,
// retry backoff, the event API and WebSocket URLs.

// iceGatheringDone resolves when the connection has gathered every
// candidate, or after ms (an unreachable interface can hang gathering);
// tolk's servers take complete descriptions, not trickled candidates.
export function iceGatheringDone(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      window.clearTimeout(timer);
      resolve();
    };
    const timer = window.setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, ms);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

// backoff is the delay before retry number attempt (1, 2, …): 0.5 s
// doubling to max, ±20 % jitter so that many clients do not return at once.
export function backoff(attempt, max) {
  const base = Math.min(max || 15000, 500 * Math.pow(2, Math.min(Math.max(attempt, 1) - 1, 6)));
  return base * (0.8 + 0.4 * Math.random());
}

// eventInfo asks the event API (same origin) about an event: it resolves
// to the answer's JSON, or to null when there is none.
export function eventInfo(id) {
  return fetch('/api/events/' + encodeURIComponent(id), { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
}

// wsURL turns a same-origin path (or an http(s) URL) into a ws(s) URL.
export function wsURL(path) {
  const u = new URL(String(path || ''), window.location.href);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  return u.href;
}
