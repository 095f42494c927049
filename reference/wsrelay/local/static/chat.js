// wsrelay chat: the browser client for the chat wire protocol (docs: architecture.md).
//
// Where it connects:
//   ?ws=wss://abc123.execute-api.eu-west-1.amazonaws.com/prod   that API, whatever served the page
//   ?stage=prod                                                 <this page's address>prod
//   (neither)                                                   <this page's address>dev
// The address is relative to the page's own (http→ws, https→wss), so the page works at
// http://127.0.0.1:8765/ and under any proxy path: served at https://hub/user/x/proxy/8765/
// it connects to wss://hub/user/x/proxy/8765/dev.
// and /?room=R&name=N joins at once, so an instructor can share one link.
//
// Everything a peer sends is rendered with textContent, never innerHTML: a message that
// contains HTML shows as text.
"use strict";

(() => {
  const IDENTIFIER = /^[A-Za-z0-9_-]{1,64}$/;
  // API Gateway takes at most 32 KB per WebSocket frame, and a browser sends each message
  // as one frame: anything larger would close the connection (1009), so refuse it here.
  const FRAME_LIMIT = 32768;
  const BACKOFF_BASE_MS = 1000;
  const BACKOFF_CAP_MS = 30000;
  const LOG_LIMIT = 500; // entries kept in the page
  const CLOSE_REASONS = {
    1000: "closed",
    1001: "going away (idle for 10 minutes, 2 hours old, or the server stopped)",
    1003: "the server does not accept binary frames",
    1006: "connection lost",
    1009: "a frame or message was too big",
    1011: "server error",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"),
    reconnectNow: $("reconnect-now"),
    joinView: $("join-view"),
    joinForm: $("join-form"),
    name: $("name"),
    room: $("room"),
    chatView: $("chat-view"),
    currentRoom: $("current-room"),
    currentName: $("current-name"),
    roomForm: $("room-form"),
    newRoom: $("new-room"),
    leave: $("leave"),
    log: $("log"),
    sendForm: $("send-form"),
    message: $("message"),
    endpoint: $("endpoint"),
    share: $("share"),
    shareLink: $("share-link"),
  };

  const params = new URLSearchParams(location.search);
  const state = {
    endpoint: endpointUrl(),
    name: "",
    room: "",
    ws: null,
    wanted: false, // the user wants to be connected: reconnect when the connection drops
    attempt: 0, // reconnect attempts since the last successful open
    timer: null,
    ownId: null, // this connection's id, learnt from the echo of our own message
    sent: [], // texts sent on this connection whose echo has not been seen yet
  };

  // --- where to connect --------------------------------------------------------------------

  function endpointUrl() {
    const override = params.get("ws");
    if (override) return override;
    const stage = params.get("stage") || "dev";
    const url = new URL(encodeURIComponent(stage), location.href); // beside this page
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    url.hash = "";
    return url.href;
  }

  function socketUrl(room, name) {
    const url = new URL(state.endpoint); // keeps any query string ?ws= carried
    url.searchParams.set("room", room);
    url.searchParams.set("name", name);
    return url.href;
  }

  // --- status line ----------------------------------------------------------------------

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
    ui.reconnectNow.hidden = kind !== "reconnecting";
    ui.sendForm.querySelector("button").disabled = kind !== "open";
  }

  // --- the log --------------------------------------------------------------------------

  function addEntry(kind, fill) {
    const nearBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
    const li = document.createElement("li");
    li.className = `entry entry-${kind}`;
    fill(li);
    ui.log.append(li);
    while (ui.log.childElementCount > LOG_LIMIT) ui.log.firstElementChild.remove();
    if (nearBottom) ui.log.scrollTop = ui.log.scrollHeight;
    return li;
  }

  function span(className, text) {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  function addSystem(text) {
    return addEntry("system", (li) => {
      li.textContent = text;
    });
  }

  function addError(label, text) {
    return addEntry("error", (li) => {
      li.append(span("label", label), document.createTextNode(text));
    });
  }

  function nameColour(name) {
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return `hsl(${hash % 360} 45% 32%)`;
  }

  function addMessage(frame) {
    const sender = String(frame.sender ?? "?");
    const text = String(frame.message ?? "");
    if (state.ownId === null && sender === state.name && state.sent.includes(text)) {
      state.ownId = frame.connectionId;
    }
    const i = state.sent.indexOf(text);
    if (i >= 0) state.sent.splice(i, 1);
    addEntry("message", (li) => {
      if (frame.connectionId && frame.connectionId === state.ownId) li.classList.add("mine");
      li.dataset.sender = sender;
      li.dataset.room = String(frame.room ?? "");
      const meta = document.createElement("div");
      meta.className = "meta";
      const who = span("sender", sender);
      who.style.color = nameColour(sender);
      meta.append(who);
      if (frame.room && frame.room !== state.room) meta.append(span("other-room", `#${frame.room}`));
      const sentAt = new Date(Number(frame.sentAt) || Date.now());
      const time = document.createElement("time");
      time.dateTime = sentAt.toISOString();
      time.title = sentAt.toLocaleString();
      time.textContent = sentAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      meta.append(time);
      const body = document.createElement("p");
      body.className = "text";
      body.textContent = text;
      li.append(meta, body);
    });
  }

  // --- frames from the server -------------------------------------------------------------

  const GATEWAY_HINTS = {
    "Internal server error": "a Lambda function behind this route failed (see the gateway's log)",
    Forbidden: "no route matched the frame and the API has no $default route",
  };

  function onFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      addError("Unreadable frame:", ` ${raw}`);
      return;
    }
    if (frame === null || typeof frame !== "object") {
      addError("Unexpected frame:", ` ${raw}`);
    } else if (frame.type === "message") {
      addMessage(frame);
    } else if (frame.type === "joined") {
      showRoom(String(frame.room));
      addSystem(`Joined #${frame.room}`);
    } else if (frame.type === "error") {
      addError("Error:", ` ${frame.error}`);
    } else if (frame.type === undefined && typeof frame.message === "string") {
      // API Gateway's own frames: {"message": "Forbidden", "connectionId": …, "requestId": …}
      const hint = GATEWAY_HINTS[frame.message];
      const request = frame.requestId ? ` (request ${frame.requestId})` : "";
      addError("API Gateway:", ` ${frame.message}${request}${hint ? ` — ${hint}` : ""}`);
    } else {
      addError("Unexpected frame:", ` ${raw}`);
    }
  }

  // --- the connection and its reconnects --------------------------------------------------

  function connect() {
    clearTimeout(state.timer);
    state.timer = null;
    let url;
    try {
      url = socketUrl(state.room, state.name);
    } catch {
      setStatus("closed", "Bad server address");
      addError("Cannot connect:", ` ${state.endpoint} is not a ws:// or wss:// URL`);
      return;
    }
    const ws = new WebSocket(url);
    let opened = false;
    state.ws = ws;
    setStatus("connecting", state.attempt ? `Reconnecting (attempt ${state.attempt})…` : "Connecting…");

    ws.addEventListener("open", () => {
      if (ws !== state.ws) return;
      opened = true;
      state.attempt = 0;
      state.ownId = null;
      state.sent = [];
      setStatus("open", `Connected as ${state.name}`);
      addSystem(`Connected to #${state.room} as ${state.name}`);
    });
    ws.addEventListener("message", (event) => {
      if (ws === state.ws) onFrame(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      if (!state.wanted) return;
      if (opened) {
        const why = event.reason || CLOSE_REASONS[event.code] || "closed";
        addSystem(`Disconnected (${event.code}: ${why})`);
      } else if (state.attempt === 0) {
        addError(
          "Cannot connect:",
          ` ${state.endpoint} refused or did not answer. Is the server running, and are the` +
            " name and room 1–64 letters, digits, _ or -?",
        );
      }
      scheduleReconnect();
    });
  }

  // Exponential backoff with "equal jitter": attempt n waits between half and all of
  // min(cap, base * 2^(n-1)), so many pages dropped at once do not return at once.
  function backoffDelay(attempt) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  function scheduleReconnect() {
    state.attempt += 1;
    const delay = backoffDelay(state.attempt);
    setStatus(
      "reconnecting",
      `Reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${state.attempt})`,
    );
    state.timer = setTimeout(connect, delay);
  }

  function disconnect() {
    state.wanted = false;
    clearTimeout(state.timer);
    state.timer = null;
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000, "left");
    setStatus("idle", "Not connected");
  }

  // --- views -----------------------------------------------------------------------------

  function showRoom(room) {
    state.room = room;
    ui.currentRoom.textContent = room;
    document.title = `#${room} · wsrelay chat`;
    const here = new URL(location.href);
    here.searchParams.set("room", room);
    here.searchParams.set("name", state.name);
    history.replaceState(null, "", here);
    const invite = new URL(location.href);
    invite.searchParams.set("room", room);
    invite.searchParams.delete("name");
    ui.shareLink.href = invite.href;
    ui.shareLink.textContent = invite.href;
    ui.share.hidden = false;
  }

  function join(name, room) {
    state.name = name;
    state.wanted = true;
    state.attempt = 0;
    ui.currentName.textContent = name;
    showRoom(room);
    try {
      localStorage.setItem("wsrelay.name", name);
    } catch {
      // storage may be disabled; remembering the name is only a convenience
    }
    ui.joinView.hidden = true;
    ui.chatView.hidden = false;
    connect();
    ui.message.focus();
  }

  function leave() {
    disconnect();
    addSystem("You left.");
    ui.chatView.hidden = true;
    ui.joinView.hidden = false;
    ui.share.hidden = true;
    ui.room.value = state.room;
    ui.name.focus();
  }

  // --- user input ------------------------------------------------------------------------

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ui.joinForm.reportValidity()) return;
    join(ui.name.value, ui.room.value);
  });

  ui.roomForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = ui.newRoom.value.trim();
    if (!room) return;
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      addError("Not switched:", " not connected; wait for the reconnect");
      return;
    }
    // No check here: the server validates the room and answers with an error frame that
    // says what is wrong, which is worth seeing while learning the protocol.
    state.ws.send(JSON.stringify({ action: "joinroom", room }));
    ui.newRoom.value = "";
  });

  ui.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.message.value;
    if (!text.trim()) return;
    const frame = JSON.stringify({ action: "sendmessage", message: text });
    const size = new TextEncoder().encode(frame).length;
    if (size > FRAME_LIMIT) {
      addError(
        "Not sent:",
        ` the message is ${size.toLocaleString("en")} bytes as a frame; API Gateway accepts` +
          ` at most ${FRAME_LIMIT.toLocaleString("en")} bytes (32 KB) per WebSocket frame,` +
          " and a browser sends a message as one frame. Shorten it or split it.",
      );
      return;
    }
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      addError("Not sent:", " not connected; wait for the reconnect");
      return;
    }
    state.ws.send(frame);
    state.sent.push(text);
    if (state.sent.length > 50) state.sent.shift();
    ui.message.value = "";
    fitMessageBox();
  });

  ui.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.sendForm.requestSubmit();
    }
  });

  function fitMessageBox() {
    ui.message.style.height = "";
    if (ui.message.value) ui.message.style.height = `${ui.message.scrollHeight + 2}px`;
  }
  ui.message.addEventListener("input", fitMessageBox);

  ui.leave.addEventListener("click", leave);
  ui.reconnectNow.addEventListener("click", () => {
    if (state.wanted && !state.ws) connect();
  });
  window.addEventListener("online", () => {
    if (state.wanted && !state.ws) connect();
  });

  // --- start -----------------------------------------------------------------------------

  ui.endpoint.textContent = state.endpoint;
  let remembered = "";
  try {
    remembered = localStorage.getItem("wsrelay.name") || "";
  } catch {
    // no storage: start with an empty name
  }
  const askedName = params.get("name");
  const askedRoom = params.get("room");
  ui.name.value = askedName ?? remembered;
  if (askedRoom !== null) ui.room.value = askedRoom;

  setStatus("idle", "Not connected");
  if (location.protocol === "file:" && !params.get("ws")) {
    setStatus("closed", "No server: open this page from wsrelay serve, or add ?ws=wss://… to its address");
  } else if (askedName !== null && IDENTIFIER.test(askedName) && IDENTIFIER.test(ui.room.value)) {
    join(askedName, ui.room.value);
  } else if (askedName !== null || askedRoom !== null) {
    ui.joinForm.reportValidity();
  } else {
    (ui.name.value ? ui.room : ui.name).focus();
  }
})();
