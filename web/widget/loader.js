/* Parley widget loader: the only script a shop puts on its pages.
 * It draws the chat bubble (in a shadow root, so the page's CSS cannot touch it),
 * opens the chat in an iframe served by Parley (isolated from the page's CSS and JS), moves
 * the bubble off the page's own buttons and links, and exposes window.Parley.
 * Messages to and from the iframe are checked: sent only to Parley's origin, accepted only
 * from the iframe's window at that origin. Budget: 3 KB gzipped (docs/widget.md). */
(function () {
  'use strict';
  var W = window, D = document;
  if (W.Parley && W.Parley.__parley) return;
  var script = D.currentScript || D.querySelector('script[data-parley-token]');
  if (!script) return;
  var token = script.getAttribute('data-parley-token') || '';
  var origin = new URL(script.src, location.href).origin;
  var opts = W.parleySettings || {};
  var locale = opts.locale || script.getAttribute('data-parley-locale') || D.documentElement.lang || navigator.language;
  var side = opts.position || script.getAttribute('data-parley-position');
  var queue = [], handlers = {}, ready = false, open = false, config = {};
  // The frame's state, kept here when the browser denies the frame its own storage.
  var KEY = 'parley:' + token, VKEY = 'parley:visit:' + token, COLLAPSED = 'parley:collapsed';
  function get(st, k) { try { return W[st].getItem(k); } catch (e) { return null; } }
  var collapsed = get('localStorage', COLLAPSED) === '1';

  var host = D.createElement('parley-widget');
  host.style.cssText = 'all:initial';
  var root = host.attachShadow({ mode: 'open' });
  var css = ':host{all:initial}' +
    '.b,.t,.x,iframe{position:fixed;z-index:2147483000;box-sizing:border-box}' +
    '.b{width:56px;height:56px;border-radius:50%;border:0;padding:0;background:var(--c,#1f6feb);color:#fff;cursor:pointer;' +
    'box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;transition:transform .15s}' +
    '.b:hover{transform:scale(1.06)}.b:focus-visible,.t:focus-visible,.x:focus-visible{outline:3px solid #222;outline-offset:2px}' +
    '.n{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#e5484d;color:#fff;' +
    'font:600 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px;box-sizing:border-box}' +
    '.x{width:20px;height:20px;border-radius:50%;border:0;padding:0;background:#fff;color:#555;cursor:pointer;' +
    'font:14px/20px system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);z-index:2147483001}' +
    '.t{width:22px;height:52px;border:0;padding:0;background:var(--c,#1f6feb);cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.2)}' +
    'iframe{border:0;width:376px;max-width:calc(100vw - 24px);height:min(640px,calc(100vh - 112px));border-radius:16px;' +
    'background:#fff;box-shadow:0 8px 32px rgba(0,0,0,.22);z-index:2147483002;display:none;color-scheme:light}' +
    'iframe.o{display:block}[hidden]{display:none!important}' +
    '@media (max-width:480px){iframe.o{inset:0!important;width:100%!important;max-width:none;height:100%!important;border-radius:0}}';
  var icon = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.6 21l4.3-2.3c1 .2 2 .3 3.1.3 5.5 0 10-3.6 10-8s-4.5-8-10-8z"/></svg>';
  var closeIcon = '<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>';
  root.innerHTML = '<style>' + css + '</style><button class="b" type="button" hidden>' + icon +
    '<span class="n" hidden></span></button><button class="x" type="button" hidden>\u00d7</button>' +
    '<button class="t" type="button" hidden></button><iframe title="Chat" hidden></iframe>';
  var bubble = root.querySelector('.b'), badge = root.querySelector('.n'),
    hide = root.querySelector('.x'), tab = root.querySelector('.t'), frame = root.querySelector('iframe');
  frame.src = origin + '/widget/frame.html?token=' + encodeURIComponent(token) +
    '&origin=' + encodeURIComponent(location.origin) + '&locale=' + encodeURIComponent(locale);

  function label() {
    var ru = /^ru/i.test(locale);
    bubble.setAttribute('aria-label', open ? (ru ? 'Закрыть чат' : 'Close chat') : (ru ? 'Открыть чат' : 'Open chat'));
    hide.setAttribute('aria-label', ru ? 'Скрыть кнопку чата' : 'Hide the chat button');
    tab.setAttribute('aria-label', ru ? 'Открыть чат' : 'Open chat');
  }

  function post(type, data) {
    var m = data || {};
    m.parley = 1;
    m.type = type;
    if (ready || type === 'init') frame.contentWindow.postMessage(m, origin);
    else queue.push(m);
  }
  function fire(name, data) {
    (handlers[name] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function pageInfo() {
    return { url: location.href, title: D.title, referrer: D.referrer };
  }

  // The page's own controls: the bubble never sits on top of one of them.
  var INTERACTIVE = 'a[href],button,input,select,textarea,label,summary,iframe,[role=button],[role=link],[onclick],[tabindex]';
  function covers(x, y, w, hgt) {
    for (var i = 0; i <= 3; i++) for (var j = 0; j <= 3; j++) {
      var els = D.elementsFromPoint(x + (w * i) / 3, y + (hgt * j) / 3);
      for (var k = 0; k < els.length; k++) {
        var el = els[k];
        if (el !== host && el.matches && el.matches(INTERACTIVE)) return true;
      }
    }
    return false;
  }
  var bottom = 20;
  function place() {
    if (!ready) return;
    var s = side === 'left' ? 'left' : 'right', o = s === 'left' ? 'right' : 'left';
    var w = collapsed ? 22 : 56, h = collapsed ? 52 : 56, m = collapsed ? 0 : 20;
    var x = s === 'left' ? m : innerWidth - m - w;
    bottom = 20;
    // Step upwards from the corner until the spot is clear (at most half the screen).
    while (bottom < innerHeight / 2 && covers(x - 4, innerHeight - bottom - h - 4, w + 8, h + 8)) bottom += 8;
    [bubble, tab, hide, frame].forEach(function (el) { el.style[o] = 'auto'; });
    bubble.style[s] = '20px';
    bubble.style.bottom = bottom + 'px';
    tab.style[s] = '0';
    tab.style.bottom = bottom + 'px';
    tab.style.borderRadius = s === 'left' ? '0 8px 8px 0' : '8px 0 0 8px';
    hide.style[s] = '14px';
    hide.style.bottom = (bottom + 44) + 'px';
    frame.style[s] = '20px';
    frame.style.bottom = (bottom + 68) + 'px';
  }
  var placeTimer;
  function placeSoon() {
    clearTimeout(placeTimer);
    placeTimer = setTimeout(place, 250);
  }

  function show() {
    var narrow = innerWidth <= 480;
    bubble.hidden = !ready || collapsed || (open && narrow);
    hide.hidden = !ready || collapsed || open;
    tab.hidden = !ready || !collapsed || open;
    frame.hidden = false;
    frame.className = open ? 'o' : '';
    bubble.innerHTML = open ? closeIcon : icon;
    bubble.appendChild(badge);
    label();
  }
  function setOpen(v) {
    if (v === open || !ready) return;
    open = v;
    if (open && collapsed) setCollapsed(false);
    post(open ? 'open' : 'close');
    show();
    if (!open) bubble.focus();
    fire(open ? 'open' : 'close');
  }
  function setCollapsed(v) {
    collapsed = v;
    try { W.localStorage.setItem(COLLAPSED, v ? '1' : '0'); } catch (e) { /* storage blocked */ }
    place();
    show();
  }

  bubble.onclick = function () { setOpen(!open); };
  tab.onclick = function () { setOpen(true); };
  hide.onclick = function () { setCollapsed(true); };

  W.addEventListener('message', function (e) {
    if (e.source !== frame.contentWindow || e.origin !== origin) return;
    var m = e.data;
    if (!m || m.parley !== 1) return;
    if (m.type === 'ready') {
      config = m.config || {};
      side = side || config.position;
      host.style.setProperty('--c', /^#[0-9a-f]{6}$/i.test(config.color) ? config.color : '#1f6feb');
      ready = true;
      place();
      show();
      while (queue.length) frame.contentWindow.postMessage(queue.shift(), origin);
    } else if (m.type === 'close') setOpen(false);
    else if (m.type === 'unread') {
      badge.hidden = !m.count;
      badge.textContent = m.count > 9 ? '9+' : String(m.count || '');
    } else if (m.type === 'event') fire(m.name, m.data);
    else if (m.type === 'persist' && typeof m.value === 'string' && m.value.length < 200000) {
      try { W[m.area === 'session' ? 'sessionStorage' : 'localStorage'].setItem(m.area === 'session' ? VKEY : KEY, m.value); } catch (e) { /* blocked */ }
    }
  });
  frame.onload = function () {
    post('init', { page: pageInfo(), locale: locale, state: get('localStorage', KEY), visit: get('sessionStorage', VKEY) });
  };

  // Single-page shops change the URL without a reload: report the new page.
  var href = location.href;
  setInterval(function () {
    if (location.href !== href) {
      href = location.href;
      post('page', { page: pageInfo() });
    }
  }, 1500);
  W.addEventListener('resize', function () { placeSoon(); show(); });
  W.addEventListener('scroll', placeSoon, { passive: true });
  D.addEventListener('keydown', function (e) { if (e.key === 'Escape' && open) setOpen(false); });

  var api = {
    __parley: true,
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!open); },
    setUser: function (identifier, attrs) { post('setUser', { identifier: String(identifier), attrs: attrs || {} }); },
    setCustomAttributes: function (attrs) { post('setCustomAttributes', { attrs: attrs || {} }); },
    setLocale: function (l) { locale = String(l); label(); post('setLocale', { locale: locale }); },
    reset: function () { post('reset'); },
    on: function (name, fn) {
      (handlers[name] = handlers[name] || []).push(fn);
      if (name === 'ready' && ready) fn();
      return api;
    },
    isOpen: function () { return open; },
  };
  var stub = W.Parley;
  W.Parley = api;
  // Calls made before the loader arrived (`window.Parley = window.Parley || {q: []}`).
  if (stub && stub.q) stub.q.forEach(function (c) { if (api[c[0]]) api[c[0]].apply(api, c[1] || []); });

  function mount() {
    D.body.appendChild(host);
    new MutationObserver(placeSoon).observe(D.body, { childList: true, subtree: true });
    setTimeout(place, 1500);
  }
  if (D.body) mount();
  else D.addEventListener('DOMContentLoaded', mount);
})();
