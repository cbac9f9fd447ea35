// The level strip: ten seconds of the recording around the playhead, the
// audio's level every 100 ms (GET …/recordings/{run}/levels/{lang}, from the
// recorded Opus, 60 s at a time), the cues as boxes, the selected one
// marked, and the playhead. A click moves the playhead (and selects the cue
// there); dragging a cue's start or end edge moves it, within its
// neighbours. Everything it does by pointer, the keyboard does through the
// time fields and the shortcuts.

import { api } from './api.js';
import { setTimes } from './editor.js';
import { list, select } from './list.js';
import { cueAt, indexOf, model, runEnd, runStart } from './model.js';
import { player, position, seek } from './player.js';
import { clock, num, on, record, ui } from './page.js';

const WINDOW = 10; // seconds shown
const BLOCK = 60000; // ms of levels per request
const EDGE = 6; // CSS pixels from an edge that grab it
const FLOOR = -60; // dBFS at the strip's foot

export const strip = { blocks: new Map(), fetched: 0, drag: null, draws: 0 };
const pending = new Set();

let colors = null;
function readColors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
  colors = { bg: v('--bg', '#fff'), fg: v('--fg', '#000'), accent: v('--accent', '#0b57d0'), focus: v('--focus', '#b3261e'), muted: v('--muted', '#555') };
}

// center is the middle of the view, seconds: the playhead, or without a
// player the selected cue.
function center() {
  if (player.el) return position();
  const c = list.selected !== null ? model.byId.get(list.selected) : null;
  return c ? runStart(c) / 1000 : 0;
}

function view() {
  const w = ui.strip.clientWidth || 1;
  const from = Math.max(0, center() - WINDOW / 2);
  return { from, to: from + WINDOW, w, h: ui.strip.clientHeight || 1, px: w / WINDOW };
}

const keyOf = (b) => (player.run ? player.run.id : '') + '|' + player.lang + '|' + b;

// level is the level (dBFS) of the k-th 100 ms of the run, or null.
function level(k) {
  const ms = k * 100;
  const blk = strip.blocks.get(keyOf(Math.floor(ms / BLOCK)));
  if (!blk) return null;
  const v = blk.levels[Math.round((ms - blk.from) / 100)];
  return typeof v === 'number' ? v : null;
}

// levelAt is the level (dBFS) of the 100 ms at seconds, or null.
export const levelAt = (seconds) => level(Math.floor(seconds * 10 + 1e-6));

async function fetchBlock(b) {
  const key = keyOf(b);
  const have = strip.blocks.get(key);
  if (pending.has(key) || (have && (have.complete || performance.now() - have.at < 5000))) return;
  pending.add(key);
  try {
    const body = await api.levels(player.run.id, player.lang, b * BLOCK, (b + 1) * BLOCK);
    strip.blocks.set(key, { from: body.from_ms, levels: body.levels, complete: body.end_ms >= body.to_ms || !player.run.live, at: performance.now() });
    strip.fetched++;
    if (strip.blocks.size > 200) strip.blocks.delete(strip.blocks.keys().next().value);
    draw();
  } catch (e) {
    record({ kind: 'levels', error: e.message });
  } finally {
    pending.delete(key);
  }
}

function ensureLevels(v) {
  if (!player.run) return;
  for (let b = Math.floor((v.from * 1000) / BLOCK); b * BLOCK < v.to * 1000; b++) fetchBlock(b);
}

let queued = 0;
export function draw() {
  if (!queued) queued = window.requestAnimationFrame(paint);
}

function paint() {
  queued = 0;
  const cv = ui.strip;
  const v = view();
  const dpr = window.devicePixelRatio || 1;
  if (cv.width !== Math.round(v.w * dpr) || cv.height !== Math.round(v.h * dpr)) {
    cv.width = Math.round(v.w * dpr);
    cv.height = Math.round(v.h * dpr);
  }
  if (!colors) readColors();
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, v.w, v.h);
  const x = (s) => (s - v.from) * v.px;
  // Cues, the selected one stronger, a dragged edge where it is dragged.
  g.font = '11px system-ui, sans-serif';
  for (const c of model.cues) {
    let s = runStart(c) / 1000;
    let e = runEnd(c) / 1000;
    if (e < v.from || s > v.to) continue;
    const d = strip.drag;
    if (d && d.id === c.id) {
      if (d.which === 'start') s = d.ms / 1000;
      else e = d.ms / 1000;
    }
    const sel = c.id === list.selected;
    g.globalAlpha = sel ? 0.32 : 0.16;
    g.fillStyle = colors.accent;
    g.fillRect(x(s), 0, x(e) - x(s), v.h);
    g.globalAlpha = 1;
    g.fillStyle = colors.accent;
    g.fillRect(x(s), 0, sel ? 3 : 2, v.h);
    g.fillRect(x(e) - (sel ? 3 : 2), 0, sel ? 3 : 2, v.h);
    g.fillStyle = colors.fg;
    g.fillText(num(indexOf(c.id) + 1, 0), x(s) + 5, 12);
  }
  // Levels: one bar per 100 ms.
  g.fillStyle = colors.fg;
  g.globalAlpha = 0.7;
  const bar = Math.max(1, v.px / 10 - 1);
  for (let k = Math.floor(v.from * 10); k < v.to * 10; k++) {
    const db = level(k);
    if (db === null) continue;
    const hgt = Math.max(1, ((Math.max(FLOOR, db) - FLOOR) / -FLOOR) * (v.h - 18));
    g.fillRect(x(k / 10), v.h - 14 - hgt, bar, hgt);
  }
  g.globalAlpha = 1;
  // Seconds along the foot.
  g.fillStyle = colors.muted;
  for (let s = Math.ceil(v.from); s <= v.to; s++) {
    g.fillRect(x(s), v.h - 12, 1, 4);
    if (s % 2 === 0) g.fillText(clock(s).replace(/\.\d$/, ''), x(s) + 2, v.h - 1);
  }
  // The playhead.
  if (player.el) {
    g.fillStyle = colors.focus;
    g.fillRect(x(position()) - 1, 0, 2, v.h);
  }
  strip.draws++;
  ensureLevels(v);
}

// ---- pointer ----------------------------------------------------------------------------

function timeAt(e) {
  const r = ui.strip.getBoundingClientRect();
  const v = view();
  return v.from + (e.clientX - r.left) / v.px;
}

// edgeAt finds the cue edge under the pointer: {id, which}.
function edgeAt(e) {
  const v = view();
  const s = timeAt(e);
  let best = null;
  for (const c of model.cues) {
    for (const which of ['start', 'end']) {
      const at = (which === 'start' ? runStart(c) : runEnd(c)) / 1000;
      const d = Math.abs(at - s) * v.px;
      if (d <= EDGE && (!best || d < best.d)) best = { id: c.id, which, d };
    }
  }
  return best;
}

// limits keeps a dragged edge inside its cue and off its neighbours.
function clampEdge(c, which, ms) {
  const i = indexOf(c.id);
  if (which === 'start') {
    const prev = model.cues[i - 1];
    return Math.round(Math.max(prev ? runEnd(prev) : 0, Math.min(ms, runEnd(c) - 100)));
  }
  const next = model.cues[i + 1];
  return Math.round(Math.min(next ? runStart(next) : Infinity, Math.max(ms, runStart(c) + 100)));
}

function down(e) {
  if (e.button !== 0) return;
  const edge = edgeAt(e);
  if (edge) {
    const c = model.byId.get(edge.id);
    strip.drag = { id: c.id, which: edge.which, ms: edge.which === 'start' ? runStart(c) : runEnd(c), moved: false };
    ui.strip.setPointerCapture(e.pointerId);
    select(c.id, { scroll: true });
    e.preventDefault();
    return;
  }
  const s = timeAt(e);
  seek(s);
  const c = cueAt(s * 1000);
  if (c) select(c.id);
  draw();
}

function moveTo(e) {
  const d = strip.drag;
  if (!d) {
    ui.strip.style.cursor = edgeAt(e) ? 'ew-resize' : 'pointer';
    return;
  }
  const c = model.byId.get(d.id);
  if (!c) return;
  d.ms = clampEdge(c, d.which, timeAt(e) * 1000);
  d.moved = true;
  draw();
}

async function up(e) {
  const d = strip.drag;
  if (!d) return;
  strip.drag = null;
  if (ui.strip.hasPointerCapture(e.pointerId)) ui.strip.releasePointerCapture(e.pointerId);
  const c = model.byId.get(d.id);
  if (c && d.moved) {
    record({ kind: 'drag', id: c.id, which: d.which, ms: d.ms });
    await setTimes(c, { [d.which]: d.ms });
  }
  draw();
}

export function startStrip() {
  ui.strip.addEventListener('pointerdown', down);
  ui.strip.addEventListener('pointermove', moveTo);
  ui.strip.addEventListener('pointerup', up);
  ui.strip.addEventListener('pointercancel', () => {
    strip.drag = null;
    draw();
  });
  for (const name of ['time', 'cues', 'select', 'run']) on(name, draw);
  if (window.ResizeObserver) new ResizeObserver(draw).observe(ui.strip);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    colors = null;
    draw();
  });
  draw();
}
