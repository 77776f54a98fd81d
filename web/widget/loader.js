/* Parley widget loader: docs/widget.md (3 KB gz budget) */
(()=>{
  const W=window, D=document, L=location;
  if ((W.Parley||{}).__parley) return;
  const sc=D.currentScript||D.querySelector('script[data-parley-token]');
  if (!sc) return;
  const attr=(n)=>sc.getAttribute('data-parley-'+n);
  const token=attr('token')||'', origin=new URL(sc.src, L.href).origin, opts=W.parleySettings||{};
  let locale=opts.locale||attr('locale')||D.documentElement.lang||navigator.language;
  let side=opts.position||attr('position'), ready=0, open=0, bottom=20, timer, labels={};
  const queue=[], on={};
  const LS='localStorage', KEY='parley:'+token, VKEY='parley:visit:'+token, HID='parley:collapsed';
  const get=(s, k)=>{ try { return W[s].getItem(k); } catch { return null; } };
  const put=(s, k, v)=>{ try { W[s].setItem(k, v); } catch { /* blocked */ } };
  let collapsed=get(LS, HID)=='1';

  const host=D.createElement('parley-widget');
  host.style.cssText='all:initial';
  const root=host.attachShadow({ mode: 'open' });
  const css='.b,.t,.x,iframe{position:fixed;z-index:2147483000;box-sizing:border-box;border:0;padding:0;cursor:pointer}' +
    '.b{width:56px;height:56px;border-radius:50%;background:var(--c);color:#fff;box-shadow:0 4px 14px #0004;font:28px/1 sans-serif}.b,.x{display:grid;place-items:center}' +
    ':focus-visible{outline:3px solid #222;outline-offset:2px}' +
    'i{display:flex;font-style:normal}.n{position:absolute;top:-4px;right:-4px;min-width:20px;border-radius:10px;background:#e5484d;color:#fff;font:600 12px/20px sans-serif;padding:0 5px}' +
    '.x{width:20px;height:20px;border-radius:50%;background:#fff;color:#555;font:14px sans-serif;box-shadow:0 1px 4px #0005}' +
    '.t{width:22px;height:52px;border-radius:8px;background:var(--c);box-shadow:0 2px 8px #0003}' +
    'iframe{width:376px;max-width:calc(100vw - 24px);height:min(640px,calc(100vh - 112px));border-radius:16px;background:#fff;box-shadow:0 8px 32px #0004;display:none}' +
    'iframe.o{display:block}[hidden]{display:none!important}' +
    '@media (max-width:480px){iframe.o{inset:0!important;width:100%;max-width:none;height:100%;border-radius:0}}';
  try {
    const sheet=new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets=[sheet];
  } catch {
    root.innerHTML='<style>'+css+'</style>';
  }
  const icon='<svg width=28 viewBox="0 0 24 24"><path fill=currentColor d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4z"/></svg>';
  root.innerHTML+='<button class=b hidden><i></i><i hidden>\u00d7</i><span class=n hidden></span></button><button class=x hidden>\u00d7</button><button class=t hidden></button><iframe title=Chat></iframe>';
  const $=(s)=>root.querySelector(s), bubble=$('.b'), [ico, cross]=bubble.children, badge=$('.n'), hide=$('.x'), tab=$('.t'), frame=$('iframe');
  ico.innerHTML=icon;
  frame.src=origin+'/widget/frame.html?'+new URLSearchParams({ token, origin: L.origin, locale });

  const post=(type, m={})=>{
    m.parley=1;
    m.type=type;
    ready||type=='init'?frame.contentWindow.postMessage(m, origin):queue.push(m);
  };
  const fire=(n, d)=>(on[n]||[]).forEach((fn)=>setTimeout(()=>fn(d)));
  const page=()=>({ url: L.href, title: D.title, referrer: D.referrer });
  const SEL='a[href],button,input,select,textarea,iframe,[role=button],[onclick],[tabindex]';
  const covers=(x, y, w, h)=>{
    for (let i=0; i<16; i++) {
      for (const el of D.elementsFromPoint(x+(w * (i % 4)) / 3, y+(h * (i >> 2)) / 3)) {
        if (el!=host&&el.matches(SEL)) return 1;
      }
    }
  };
  const place=()=>{
    if (!ready) return;
    const s=side=='left'?'left':'right', o=s=='left'?'right':'left';
    const w=collapsed?22:56, h=collapsed?52:56, x=s=='left'?(collapsed?0:20):innerWidth - w - (collapsed?0:20);
    for (bottom=20; bottom<innerHeight / 2&&covers(x - 4, innerHeight - bottom - h - 4, w+8, h+8); bottom+=8);
    const set=(el, off, b)=>{ el.style[o]='auto'; el.style[s]=off; el.style.bottom=b+'px'; };
    set(bubble, '20px', bottom);
    set(tab, '0', bottom);
    set(hide, '14px', bottom+44);
    set(frame, '20px', bottom+68);
  };
  const soon=()=>{ clearTimeout(timer); timer=setTimeout(place, 250); };
  const show=()=>{
    bubble.hidden=!ready||collapsed||(open&&innerWidth<=480);
    hide.hidden=!ready||collapsed||open;
    tab.hidden=!ready||!collapsed||open;
    frame.className=open?'o':'';
    ico.hidden=open;
    cross.hidden=!open;
    bubble.ariaLabel=tab.ariaLabel=labels[open?'close':'open'];
    hide.ariaLabel=labels.hide;
  };
  const setOpen=(v)=>{
    if (v==open||!ready) return;
    open=v;
    if (open&&collapsed) setCollapsed(0);
    post(open?'open':'close');
    show();
    if (!open) bubble.focus();
    fire(open?'open':'close');
  };
  const setCollapsed=(v)=>{
    collapsed=v;
    put(LS, HID, v?'1':'0');
    place();
    show();
  };
  bubble.onclick=()=>setOpen(!open);
  tab.onclick=()=>setOpen(1);
  hide.onclick=()=>setCollapsed(1);

  W.addEventListener('message', (e)=>{
    const m=e.data;
    if (e.source!=frame.contentWindow||e.origin!=origin||!m||m.parley!=1) return;
    if (m.labels) (labels=m.labels), show();
    if (m.type=='ready') {
      const c=m.config||{};
      side=side||c.position;
      host.style.setProperty('--c', c.color);
      ready=1;
      place();
      show();
      while (queue.length) frame.contentWindow.postMessage(queue.shift(), origin);
    } else if (m.type=='close') setOpen(0);
    else if (m.type=='open') setOpen(1);
    else if (m.css) Object.assign(frame.style, m.css);
    else if (m.type=='unread') {
      badge.hidden=!m.count;
      badge.textContent=m.count>9?'9+':m.count;
    } else if (m.type=='event') fire(m.name, m.data);
    else if (m.type=='persist'&&m.value.length<2e5) {
      const ss=m.area=='session';
      put(ss?'sessionStorage':LS, ss?VKEY:KEY, m.value);
    }
  });
  frame.onload=()=>post('init', { page: page(), locale, state: get(LS, KEY), visit: get('sessionStorage', VKEY) });
  let href=L.href;
  setInterval(()=>href!=L.href&&post('page', { page: page((href=L.href)) }), 1500);
  W.addEventListener('resize', ()=>{ soon(); show(); });
  D.addEventListener('mouseout', (e)=>e.clientY<1&&!e.relatedTarget&&post('exit'));

  const api={
    __parley: 1,
    open: ()=>setOpen(1),
    close: ()=>setOpen(0),
    toggle: ()=>setOpen(!open),
    setUser: (identifier, attrs)=>post('setUser', { identifier: String(identifier), attrs: attrs||{} }),
    setCustomAttributes: (attrs)=>post('setCustomAttributes', { attrs: attrs||{} }),
    setLocale: (l)=>post('setLocale', { locale: (locale=String(l)) }),
    reset: ()=>post('reset'),
    on: (n, fn)=>{ (on[n]=on[n]||[]).push(fn); if (n=='ready'&&ready) fn(); return api; },
  };
  W.Parley=api;

  const mount=()=>{
    D.body.append(host);
    new MutationObserver(soon).observe(D.body, { childList: true, subtree: true });
    setTimeout(place, 1500);
  };
  D.body?mount():D.addEventListener('DOMContentLoaded', mount);
})();
