// Reading checks as subtitlers make them: the API's `checks` of each cue,
// put in words, and the same measures taken while the editor types, so the
// warnings follow the text before it is saved (captions.CheckReading on the
// server does the same counting).

import { num, t } from './page.js';

// The defaults the server uses when the page asks for none.
const DEFAULTS = { max_cps: 17, max_line: 42, max_lines: 2, min_ms: 833, max_ms: 7000 };

export const limitsOf = (l) => Object.assign({}, DEFAULTS, l || {});

const invisible = /[\p{Mn}\p{Me}\p{Cf}]/gu;

// reading measures text shown for ms against limits, as the API's checks.
export function reading(text, ms, limits) {
  const l = limitsOf(limits);
  const r = { cps: 0, chars: 0, lines: 0, max_line: 0, warnings: [] };
  for (let line of String(text).split('\n')) {
    line = line.trim();
    if (!line) continue;
    const n = Array.from(line.replace(invisible, '')).length;
    r.lines++;
    r.chars += n;
    r.max_line = Math.max(r.max_line, n);
  }
  if (ms > 0) r.cps = Math.round((r.chars / (ms / 1000)) * 10) / 10;
  if (r.chars > 0 && (ms <= 0 || r.chars / (ms / 1000) > l.max_cps)) r.warnings.push('reading_speed');
  if (r.max_line > l.max_line) r.warnings.push('line_length');
  if (r.lines > l.max_lines) r.warnings.push('lines');
  if (ms < l.min_ms) r.warnings.push('too_short');
  if (ms > l.max_ms) r.warnings.push('too_long');
  return r;
}

// warningTexts says what each warning of checks means, with the numbers.
export function warningTexts(checks, ms, limits) {
  const l = limitsOf(limits);
  const c = checks || {};
  return (c.warnings || []).map((w) => {
    switch (w) {
      case 'reading_speed':
        return t('edit.warn.reading_speed', { cps: num(c.cps || 0, 1), max: num(l.max_cps, 0) });
      case 'line_length':
        return t('edit.warn.line_length', { chars: num(c.max_line || 0, 0), max: num(l.max_line, 0) });
      case 'lines':
        return t('edit.warn.lines', { lines: num(c.lines || 0, 0), max: num(l.max_lines, 0) });
      case 'too_short':
        return t('edit.warn.too_short', { seconds: num(ms / 1000, 1), min: num(l.min_ms / 1000, 1) });
      case 'too_long':
        return t('edit.warn.too_long', { seconds: num(ms / 1000, 1), max: num(l.max_ms / 1000, 1) });
      default:
        return w;
    }
  });
}

// measure is the line under the text field: characters, lines, speed.
export function measure(r) {
  return t('edit.cue.measure', { chars: num(r.chars, 0), lines: num(r.lines, 0), cps: num(r.cps, 1) });
}
