// DOM building without markup strings. Every string child becomes a Text node, so text
// from customers (names, messages, attributes) can never turn into elements or scripts:
// nothing in the console parses a string as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('div', {class: 'x', onclick: fn, dataset: {id: 1}}, 'text', child, [more])
 * Attributes: `class`, `style` (object), `dataset` (object), `on<event>` (listener),
 * `text` (textContent), properties that exist on the element (value, checked, disabled…)
 * are set as properties; everything else with setAttribute. null/undefined/false skip.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  // A select's value can only be chosen once its options exist.
  if (tag === 'select' && attrs && attrs.value !== undefined && attrs.value !== null) {
    el.value = String(attrs.value);
  }
  return el;
}

function applyAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    // No property that parses markup, and no inline handler attributes.
    if (/html$/i.test(k) || (k.startsWith('on') && typeof v !== 'function')) throw new Error(`refused attribute ${k}`);
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof el[k] !== 'function' && !k.includes('-') && k !== 'list' && k !== 'form') {
      el[k] = v;
    } else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** Appends children: strings and numbers as text, arrays flattened, falsy skipped. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === true) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An SVG icon from path data (24×24 box, stroked). */
export function svg(paths, { size = 18, cls = 'icon', fill = false, title } = {}) {
  const s = document.createElementNS(SVG_NS, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('width', String(size));
  s.setAttribute('height', String(size));
  s.setAttribute('class', cls);
  s.setAttribute('aria-hidden', title ? 'false' : 'true');
  if (title) {
    const t = document.createElementNS(SVG_NS, 'title');
    t.textContent = title;
    s.append(t);
  }
  for (const d of [].concat(paths)) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    if (fill) p.setAttribute('fill', 'currentColor');
    else {
      p.setAttribute('fill', 'none');
      p.setAttribute('stroke', 'currentColor');
      p.setAttribute('stroke-width', '2');
      p.setAttribute('stroke-linecap', 'round');
      p.setAttribute('stroke-linejoin', 'round');
    }
    s.append(p);
  }
  return s;
}

/** Closest ancestor (or self) matching a selector, within `root`. */
export function closest(target, selector, root) {
  const el = target instanceof Element ? target.closest(selector) : null;
  return el && (!root || root.contains(el)) ? el : null;
}

/** True when the keyboard focus is somewhere text is typed. */
export function typingInField(target = document.activeElement) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target.getAttribute('type') || 'text').toLowerCase();
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return false;
}

/** Debounce. */
export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}
