// Small DOM helpers for the console's lists of facts.

// fillKV writes pairs [[label, value, data?, lang?], …] into a <dl>, reusing its
// elements so that values changing five times a second cost no layout churn.
export function fillKV(dl, pairs) {
  while (dl.children.length > pairs.length) dl.lastElementChild.remove();
  pairs.forEach(([k, v, state, lang], i) => {
    let row = dl.children[i];
    if (!row) {
      row = document.createElement('div');
      row.append(document.createElement('dt'), document.createElement('dd'));
      dl.append(row);
    }
    const [dt, dd] = row.children;
    if (dt.textContent !== k) dt.textContent = k;
    if (dd.textContent !== v) dd.textContent = v;
    if (state) dd.dataset.state = state;
    else delete dd.dataset.state;
    if (lang) dd.lang = lang;
    else dd.removeAttribute('lang');
  });
}
