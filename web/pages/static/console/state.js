// What the server says: who this console is, the live controls' limits, and
// the latest status of the event (docs/http.md, "The status").

import { renditions } from './page.js';

export const session = {
  you: null, // {id, name}
  limits: { duck_db: [-60, 0], gain_db: [-60, 24] },
  maxText: 500,
  booths: new Set(renditions.filter((r) => !r.floor).map((r) => r.tag)),
};

export let status = null; // the latest status
export let statusAt = 0; // performance.now() when it came
export let statusCount = 0;

export function applyWelcome(m) {
  if (m.you && m.you.id !== undefined) session.you = { id: String(m.you.id), name: String(m.you.name || '') };
  const range = (r, d) => (Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) ? [r[0], r[1]] : d);
  if (m.limits) {
    session.limits = { duck_db: range(m.limits.duck_db, session.limits.duck_db), gain_db: range(m.limits.gain_db, session.limits.gain_db) };
  }
  if (Number.isFinite(m.max_text) && m.max_text > 0) session.maxText = m.max_text;
  if (Array.isArray(m.languages)) {
    session.booths = new Set(m.languages.filter((l) => l && l.booth).map((l) => String(l.tag)));
  }
}

export function applyStatus(s) {
  if (!s || typeof s !== 'object' || !Array.isArray(s.languages)) return false;
  status = s;
  statusAt = performance.now();
  statusCount++;
  return true;
}

// languageOf is a language's entry in the latest status.
export function languageOf(tag) {
  return status ? status.languages.find((l) => l && l.tag === tag) || null : null;
}
