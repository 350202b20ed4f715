/** Text for people: ages, sizes, times. */

export function age(ms) {
  if (ms === undefined || Number.isNaN(ms)) return '—';
  const secs = Math.max(0, Math.floor(ms / 1000));
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ${secs % 60} s ago`;
  if (secs < 86_400) return `${Math.floor(secs / 3600)} h ${Math.floor((secs % 3600) / 60)} min ago`;
  return `${Math.floor(secs / 86_400)} d ago`;
}

export function bytes(value) {
  if (!value) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size >= 10 || unit === 0 ? Math.round(size) : size.toFixed(1)} ${units[unit]}`;
}

export const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

export const count = (n) => n.toLocaleString('en');

/** An element with text and attributes; children appended in order. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== undefined && child !== null) element.append(child);
  return element;
}

/** A bar of `share` (0..1) with its label; the width is set through the CSSOM, which the page's CSP allows. */
export function bar(share, label, tone = '') {
  const fill = el('span', { class: `fill ${tone}` });
  fill.style.width = `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
  return el('span', { class: 'bar', title: label }, el('span', { class: 'track' }, fill), el('span', { class: 'bar-label', text: label }));
}
