// ductor chat page: the reference client of the direct API (docs/api.md).
//
// Connects to `ws` next to this page, authenticates with the token and a fresh X25519
// key per connection, then exchanges NaCl boxes (tweetnacl) as base64(nonce || box).
// Everything the server sends is rendered through DuctorMarkdown, which builds DOM
// nodes and never parses HTML. The token stays in this tab (sessionStorage) unless
// "remember on this device" is ticked (localStorage); it never goes into a URL.
(function () {
  'use strict';

  const TOKEN_KEY = 'ductor.api.token';
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
  const AUTH_WAIT_MS = 15000;
  const NEAR_BOTTOM_PX = 80;
  const STOP_GRACE_MS = 5000;
  const STATUS = { queued: 'Queued', thinking: 'Thinking', compacting: 'Compacting the conversation', recovering: 'Recovering' };
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  const $ = (id) => document.getElementById(id);
  const ui = {
    app: $('app'), log: $('log'), status: $('status'), model: $('model'), conn: $('conn'),
    signout: $('signout'), composer: $('composer'), input: $('input'), send: $('send'),
    stop: $('stop'), file: $('file'), login: $('login'), loginForm: $('login-form'),
    token: $('token'), remember: $('remember'), loginError: $('login-error'),
  };

  const state = {
    token: null,
    ws: null,
    shared: null, // nacl.box.before(serverPk, clientSk) of the open connection
    authed: false,
    attempt: 0,
    retryTimer: null,
    authTimer: null,
    current: null, // the bot message being streamed: {root, body, tools, text, raf, timer}
    pending: 0, // messages sent whose `result` has not come yet
    queue: [], // frames typed while offline, sent after the next auth_ok
    stuck: true, // whether the conversation is scrolled to its end
  };

  // ---- small helpers ----

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function b64encode(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function b64decode(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
    return out;
  }

  function baseUrl(path) {
    return new URL(path, window.location.href);
  }

  function wsUrl() {
    const url = baseUrl('ws');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
  }

  function humanSize(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  // ---- the token ----

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || window.localStorage.getItem(TOKEN_KEY);
    } catch (_) {
      return null;
    }
  }

  function keepToken(token, remember) {
    try {
      window.sessionStorage.setItem(TOKEN_KEY, token);
      if (remember) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // Storage may be off (private mode): the token then lives in this page only.
    }
  }

  function forgetToken() {
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
      window.localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // Nothing stored.
    }
  }

  // ---- the conversation view ----

  function nearBottom() {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  function append(node) {
    const stick = nearBottom();
    ui.log.appendChild(node);
    if (stick) ui.log.scrollTop = ui.log.scrollHeight;
    return node;
  }

  function keepBottom(fn) {
    const stick = nearBottom();
    fn();
    if (stick) ui.log.scrollTop = ui.log.scrollHeight;
  }

  function userMessage(text) {
    return append(el('div', 'msg user', text));
  }

  function note(text) {
    return append(el('div', 'msg note', text));
  }

  function errorLine(text) {
    return append(el('div', 'msg error', text));
  }

  function botMessage() {
    const root = el('div', 'msg bot');
    const tools = el('div', 'tools');
    tools.hidden = true;
    const body = el('div', 'body');
    root.append(tools, body);
    append(root);
    return { root, body, tools, text: '', raf: 0, timer: 0 };
  }

  function renderBody(msg) {
    msg.raf = 0;
    keepBottom(() => msg.body.replaceChildren(window.DuctorMarkdown.render(msg.text)));
  }

  function streaming() {
    if (!state.current) {
      state.current = botMessage();
      state.current.root.classList.add('streaming');
    }
    return state.current;
  }

  function setStatus(text) {
    ui.status.textContent = text || '';
    ui.status.hidden = !text;
  }

  function setBusy(busy) {
    ui.stop.hidden = !busy;
    if (!busy) setStatus('');
  }

  function settle() {
    state.pending = Math.max(0, state.pending - 1);
    setBusy(state.pending > 0);
  }

  function finishStream() {
    const msg = state.current;
    state.current = null;
    if (msg) {
      if (msg.raf) cancelAnimationFrame(msg.raf);
      clearTimeout(msg.timer);
      msg.root.classList.remove('streaming');
    }
    return msg;
  }

  function setConn(kind, text) {
    ui.conn.dataset.state = kind;
    ui.conn.textContent = text;
  }

  // ---- files: download (result.files) and upload (POST upload) ----

  async function fetchFile(path) {
    const res = await fetch(baseUrl('files?path=' + encodeURIComponent(path)), {
      headers: { Authorization: 'Bearer ' + state.token },
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!res.ok) {
      let code = res.status;
      try {
        code = (await res.json()).error || code;
      } catch (_) {
        // Not JSON: keep the status.
      }
      throw new Error(String(code));
    }
    return res.blob();
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function fileEntry(file) {
    const name = file.name || String(file.path).split('/').pop();
    const box = el('div', 'file');
    const button = el('button', 'quiet', 'Download ' + name);
    button.type = 'button';
    const problem = el('span', 'error');
    let blob = null;
    const load = async () => {
      if (!blob) blob = await fetchFile(file.path);
      return blob;
    };
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        saveBlob(await load(), name);
        problem.textContent = '';
      } catch (e) {
        problem.textContent = name + ': ' + e.message;
      } finally {
        button.disabled = false;
      }
    });
    if (file.is_image) {
      const img = el('img');
      img.alt = name;
      box.appendChild(img);
      load().then((b) => {
        keepBottom(() => { img.src = URL.createObjectURL(b); });
      }, (e) => {
        img.remove();
        problem.textContent = name + ': ' + e.message;
      });
    }
    box.append(button, problem);
    return box;
  }

  function showFiles(msg, files) {
    if (!Array.isArray(files) || files.length === 0) return;
    const list = el('div', 'files');
    files.filter((f) => f && typeof f.path === 'string').forEach((f) => list.appendChild(fileEntry(f)));
    keepBottom(() => msg.root.appendChild(list));
  }

  async function upload(file) {
    const caption = ui.input.value.trim();
    const line = userMessage('Uploading ' + file.name + ' (' + humanSize(file.size) + ')');
    const form = new FormData();
    form.append('file', file, file.name);
    if (caption) form.append('caption', caption);
    try {
      const res = await fetch(baseUrl('upload'), {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + state.token },
        body: form,
        credentials: 'omit',
      });
      let body = null;
      try {
        body = await res.json();
      } catch (_) {
        body = null;
      }
      if (!res.ok || !body || typeof body.prompt !== 'string') {
        const why = res.status === 413 ? 'too large' : (body && body.error) || 'HTTP ' + res.status;
        line.remove();
        errorLine('Upload of ' + file.name + ' failed: ' + why);
        return;
      }
      line.textContent = 'Sent ' + (body.name || file.name) + ' (' + humanSize(body.size || file.size) + ')' +
        (caption ? '\n' + caption : '');
      if (caption) ui.input.value = '';
      state.pending += 1;
      setBusy(true);
      sendFrame({ type: 'message', text: body.prompt }, true);
    } catch (e) {
      line.remove();
      errorLine('Upload of ' + file.name + ' failed: ' + e.message);
    }
  }

  // ---- buttons of a result (answered with an `action` frame) ----

  function showButtons(msg, rows) {
    if (!Array.isArray(rows) || rows.length === 0) return;
    const box = el('div', 'buttons');
    const normalized = rows.map((r) => (Array.isArray(r) ? r : [r]));
    normalized.forEach((row) => {
      const line = el('div', 'row');
      row.forEach((b) => {
        // A link button: opens its page; nothing goes back to ductor.
        if (b && typeof b.url === 'string' && /^https?:\/\//i.test(b.url)) {
          const link = el('a', 'link', String(b.label || b.url));
          link.href = b.url;
          link.target = '_blank';
          link.rel = 'noopener noreferrer';
          line.appendChild(link);
          return;
        }
        if (!b || b.id === undefined) return;
        const button = el('button', '', String(b.label || b.text || b.id));
        button.type = 'button';
        button.dataset.action = String(b.id);
        button.addEventListener('click', () => {
          box.querySelectorAll('button').forEach((x) => { x.disabled = true; });
          if (!sendFrame({ type: 'action', id: b.id }, true)) {
            box.querySelectorAll('button').forEach((x) => { x.disabled = false; });
          }
        });
        line.appendChild(button);
      });
      box.appendChild(line);
    });
    keepBottom(() => msg.root.appendChild(box));
  }

  // ---- frames from the server ----

  function markStopped(msg) {
    if (!msg.root.querySelector('.stopped')) {
      keepBottom(() => msg.root.appendChild(el('div', 'stopped', 'Stopped.')));
    }
  }

  function onResult(frame) {
    const text = typeof frame.text === 'string' ? frame.text : '';
    if (frame.background) {
      // A delivery nobody here asked for (task result, cron job): its own message,
      // whatever is streaming goes on.
      const msg = botMessage();
      msg.text = text;
      renderBody(msg);
      showFiles(msg, frame.files);
      showButtons(msg, frame.buttons);
      return;
    }
    let msg = finishStream();
    if (!msg && frame.stopped && !text) {
      settle();
      return;
    }
    if (!msg) msg = botMessage();
    msg.text = text || msg.text;
    renderBody(msg);
    if (frame.failed) msg.root.classList.add('failed');
    if (frame.stopped) markStopped(msg);
    showFiles(msg, frame.files);
    showButtons(msg, frame.buttons);
    settle();
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'text_delta': {
        const msg = streaming();
        msg.text += String(frame.data || '');
        if (!msg.raf) msg.raf = requestAnimationFrame(() => renderBody(msg));
        setBusy(true);
        setStatus('');
        break;
      }
      case 'tool_activity': {
        const msg = streaming();
        const name = String(frame.data || 'tool');
        keepBottom(() => {
          msg.tools.hidden = false;
          msg.tools.appendChild(el('span', 'tool', name));
        });
        setStatus('Using ' + name + '…');
        setBusy(true);
        break;
      }
      case 'system_status':
        setStatus(frame.data ? (STATUS[frame.data] || String(frame.data)) + '…' : '');
        break;
      case 'result':
        onResult(frame);
        break;
      case 'abort_ok': {
        // The stopped turn's last deltas and its `result` (marked `stopped`) may
        // still be on their way: the message stays open for them a little while.
        const msg = state.current;
        if (msg) {
          clearTimeout(msg.timer);
          msg.timer = setTimeout(() => {
            if (state.current === msg) {
              finishStream();
              markStopped(msg);
            }
          }, STOP_GRACE_MS);
        } else if (!(Number(frame.killed) > 0) && state.pending === 0) {
          note('Nothing was running.');
        }
        state.pending = 0;
        setBusy(false);
        break;
      }
      case 'error': {
        const msg = finishStream();
        if (msg) renderBody(msg);
        errorLine(frame.message ? frame.code + ': ' + frame.message : 'Error: ' + frame.code);
        settle();
        break;
      }
      default:
        // Newer server, older page: ignore what we do not know.
        break;
    }
  }

  function onAuthOk(frame) {
    clearTimeout(state.authTimer);
    const serverPk = b64decode(String(frame.e2e_pk || ''));
    if (serverPk.length !== nacl.box.publicKeyLength) {
      errorLine('The server sent an invalid key.');
      state.ws.close();
      return;
    }
    state.shared = nacl.box.before(serverPk, state.keys.secretKey);
    state.keys = null;
    state.authed = true;
    state.attempt = 0;
    setConn('online', 'online');
    const model = [frame.active_provider, frame.active_model].filter(Boolean).join(' · ');
    ui.model.textContent = model;
    ui.model.title = 'Chat ' + frame.chat_id + (frame.channel_id ? ', channel ' + frame.channel_id : '');
    const waiting = state.queue.splice(0);
    waiting.forEach((f) => sendFrame(f, false));
  }

  function onPlain(frame) {
    if (frame.type === 'auth_ok') {
      onAuthOk(frame);
    } else if (frame.type === 'error' && frame.code === 'auth_failed') {
      state.ws.onclose = null;
      state.ws.close();
      state.ws = null;
      forgetToken();
      showLogin(frame.message || 'Invalid token');
    } else if (frame.type === 'error') {
      errorLine('Connection refused: ' + (frame.message || frame.code));
    }
  }

  function onMessage(event) {
    if (typeof event.data !== 'string') return;
    if (!state.authed) {
      try {
        onPlain(JSON.parse(event.data));
      } catch (_) {
        errorLine('Unexpected answer from the server.');
      }
      return;
    }
    let raw;
    try {
      raw = b64decode(event.data);
    } catch (_) {
      raw = new Uint8Array(0);
    }
    const plain = raw.length > nacl.box.nonceLength
      ? nacl.box.open.after(raw.subarray(nacl.box.nonceLength), raw.subarray(0, nacl.box.nonceLength), state.shared)
      : null;
    if (!plain) {
      errorLine('A frame could not be decrypted and was dropped.');
      return;
    }
    try {
      onFrame(JSON.parse(dec.decode(plain)));
    } catch (_) {
      errorLine('A frame could not be read and was dropped.');
    }
  }

  // ---- frames to the server ----

  // Sends `frame` encrypted; when offline and `queue` is set, keeps it for the next
  // connection. Returns whether it went out (or was queued).
  function sendFrame(frame, queue) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.authed) {
      if (queue) {
        state.queue.push(frame);
        if (!ws) note('Offline: sent when the connection is back.');
        connectSoon(0);
        return true;
      }
      return false;
    }
    const nonce = nacl.randomBytes(nacl.box.nonceLength);
    const box = nacl.box.after(enc.encode(JSON.stringify(frame)), nonce, state.shared);
    const out = new Uint8Array(nonce.length + box.length);
    out.set(nonce);
    out.set(box, nonce.length);
    ws.send(b64encode(out));
    return true;
  }

  function sendText() {
    const text = ui.input.value.trim();
    if (!text) return;
    userMessage(text);
    ui.input.value = '';
    autosize();
    if (text.toLowerCase() !== '/stop') {
      state.pending += 1;
      setBusy(true);
    }
    sendFrame({ type: 'message', text }, true);
  }

  // ---- the connection ----

  function connectSoon(delay) {
    if (state.retryTimer || (state.ws && state.ws.readyState <= WebSocket.OPEN) || !state.token) return;
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      connect();
    }, delay);
  }

  function scheduleReconnect(reason) {
    const delay = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    state.attempt += 1;
    setConn('offline', 'offline');
    setStatus(reason + ' Reconnecting in ' + Math.ceil(jittered / 1000) + ' s…');
    connectSoon(jittered);
  }

  function connect() {
    if (!state.token) return;
    // A fresh key pair for every connection; the server's key comes with auth_ok.
    state.keys = nacl.box.keyPair();
    state.shared = null;
    state.authed = false;
    setConn('connecting', 'connecting');
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      scheduleReconnect('Cannot connect: ' + e.message + '.');
      return;
    }
    state.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token: state.token, e2e_pk: b64encode(state.keys.publicKey) }));
      state.authTimer = setTimeout(() => { if (!state.authed) ws.close(); }, AUTH_WAIT_MS);
    };
    ws.onmessage = onMessage;
    ws.onclose = () => {
      clearTimeout(state.authTimer);
      if (state.ws !== ws) return;
      state.ws = null;
      state.shared = null;
      state.authed = false;
      if (finishStream() || state.pending > 0) note('The connection dropped during the answer.');
      state.pending = 0;
      setBusy(false);
      scheduleReconnect('Disconnected.');
    };
  }

  // ---- sign-in ----

  function showLogin(message) {
    ui.login.hidden = false;
    ui.app.setAttribute('aria-hidden', 'true');
    ui.loginError.textContent = message || '';
    ui.token.value = '';
    ui.signout.hidden = true;
    state.token = null;
    setConn('offline', 'offline');
    ui.token.focus();
  }

  function start(token) {
    state.token = token;
    ui.login.hidden = true;
    ui.app.removeAttribute('aria-hidden');
    ui.signout.hidden = false;
    state.attempt = 0;
    connect();
    ui.input.focus();
  }

  function signOut() {
    forgetToken();
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.queue = [];
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close();
    finishStream();
    state.pending = 0;
    setBusy(false);
    ui.log.replaceChildren();
    ui.model.textContent = '';
    showLogin('');
  }

  // ---- wiring ----

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, window.innerHeight * 0.4) + 'px';
  }

  function uploadAll(files) {
    if (!state.token) return;
    Array.from(files || []).forEach((f) => upload(f));
  }

  function wire() {
    ui.loginForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = ui.token.value.trim();
      if (!token) return;
      keepToken(token, ui.remember.checked);
      start(token);
    });
    ui.composer.addEventListener('submit', (e) => {
      e.preventDefault();
      sendText();
    });
    ui.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        sendText();
      }
    });
    ui.input.addEventListener('input', autosize);
    // Keep the newest message in view when the window (or a phone's keyboard) resizes.
    ui.log.addEventListener('scroll', () => { state.stuck = nearBottom(); });
    window.addEventListener('resize', () => {
      if (state.stuck) ui.log.scrollTop = ui.log.scrollHeight;
    });
    ui.stop.addEventListener('click', () => {
      sendFrame({ type: 'abort' }, false);
      setStatus('Stopping…');
    });
    ui.signout.addEventListener('click', signOut);
    ui.file.addEventListener('change', () => {
      uploadAll(ui.file.files);
      ui.file.value = '';
    });
    ui.log.addEventListener('dragover', (e) => {
      e.preventDefault();
      ui.app.classList.add('dragging');
    });
    ui.log.addEventListener('dragleave', () => ui.app.classList.remove('dragging'));
    ui.log.addEventListener('drop', (e) => {
      e.preventDefault();
      ui.app.classList.remove('dragging');
      uploadAll(e.dataTransfer && e.dataTransfer.files);
    });
    ui.input.addEventListener('paste', (e) => {
      const files = e.clipboardData && e.clipboardData.files;
      if (files && files.length > 0) {
        e.preventDefault();
        uploadAll(files);
      }
    });
    // Back online or back to the tab: try at once instead of waiting out the backoff.
    const retryNow = () => {
      if (!state.ws && state.token) {
        clearTimeout(state.retryTimer);
        state.retryTimer = null;
        state.attempt = 0;
        connectSoon(0);
      }
    };
    window.addEventListener('online', retryNow);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') retryNow();
    });
  }

  wire();
  const token = storedToken();
  if (token) start(token);
  else showLogin('');
})();
