// What every page reads of itself: the configuration and message catalog the
// server embeds in it, and the small preferences it keeps in local storage.

export function readJSON(id) {
  const el = document.getElementById(id);
  if (!el) return null;
  try {
    return JSON.parse(el.textContent);
  } catch (e) {
    return null;
  }
}

// translator returns t(key, vars): the catalog message with its {name}
// placeholders filled in, or a visible marker for a missing key.
export function translator(messages) {
  const has = (k) => Object.prototype.hasOwnProperty.call(messages, k);
  return function t(key, vars) {
    let s = has(key) ? messages[key] : '⟦missing:' + key + '⟧';
    if (vars) {
      for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
    }
    return s;
  };
}

// storage keeps small preferences; private modes that refuse storage just
// do not remember them.
export function storage(prefix) {
  return {
    get(k) {
      try {
        return window.localStorage.getItem(prefix + k);
      } catch (e) {
        return null;
      }
    },
    set(k, v) {
      try {
        window.localStorage.setItem(prefix + k, v);
      } catch (e) {
        // not persisted
      }
    },
  };
}
