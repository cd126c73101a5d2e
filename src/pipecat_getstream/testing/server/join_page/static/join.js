// The local server's join page: one person in a call, with plain browser WebRTC.
//
// Steps (the same a GetStream SDK takes, in JSON): a user token from the dev server, the
// coordinator WebSocket (custom events, captions), the REST join (SFU credentials), then the
// SFU through the server's JSON bridge (/join/api/sfu): join_request, a publisher connection
// (SetPublisher), subscriptions to everyone's tracks (UpdateSubscriptions) and the
// server-offered subscriber connection (subscriber_offer / SendAnswer).
"use strict";

const $ = (selector) => document.querySelector(selector);
const [, , callType, callId] = location.pathname.split("/").map(decodeURIComponent);
const query = new URLSearchParams(location.search);
const TIMEOUT_MS = 15000;
const SPEAKING_RMS = 0.02;  // a level meter above this (full scale 1.0) is someone speaking
const TRACK_KINDS = { TRACK_TYPE_AUDIO: "audio", TRACK_TYPE_VIDEO: "video",
  TRACK_TYPE_SCREEN_SHARE: "video", TRACK_TYPE_SCREEN_SHARE_AUDIO: "audio" };
const TRACK_NUMBERS = { 1: "TRACK_TYPE_AUDIO", 2: "TRACK_TYPE_VIDEO", 3: "TRACK_TYPE_SCREEN_SHARE",
  4: "TRACK_TYPE_SCREEN_SHARE_AUDIO" };

// Everything the page knows; window.joinPage lets a person (or a test) look inside.
const call = {
  state: "idle", userId: null, sessionId: null, sfuToken: null,
  people: new Map(),     // session id -> participant (as the SFU describes it)
  media: new Map(),      // track lookup prefix -> {TRACK_TYPE_...: MediaStream}
  local: null, coordinator: null, sfu: null, publisher: null, subscriber: null, timers: [],
  audio: null,           // the AudioContext of the level meters
  meters: new Map(),     // session id -> level meter
};
window.joinPage = call;

// ------------------------------------------------------------------ display
function setState(state, text) {
  call.state = state;
  document.body.dataset.state = state;
  $("#status").textContent = text;
}

function showError(text) {
  $("#error").textContent = text;
  $("#error").hidden = false;
  setState("error", "Not in the call");
}

function addLine(list, text, title) {
  const item = document.createElement("li");
  item.textContent = text;
  if (title) item.title = title;
  list.append(item);
  list.parentElement.scrollTop = list.parentElement.scrollHeight;
  return item;
}

function render() {
  const people = $("#people");
  people.replaceChildren();
  for (const person of call.people.values()) {
    const you = person.session_id === call.sessionId ? " (you)" : "";
    const item = addLine(people, `${person.name || person.user_id}${you}`);
    item.dataset.userId = person.user_id;
    item.classList.toggle("speaking", Boolean(person.speaking));
    item.classList.toggle("dominant", Boolean(person.dominant));
    tile(person).classList.toggle("speaking", Boolean(person.speaking));
  }
  for (const element of document.querySelectorAll(".tile")) {
    if (!call.people.has(element.dataset.sessionId)) element.remove();
  }
}

function tile(person) {
  let element = document.querySelector(`.tile[data-session-id="${CSS.escape(person.session_id)}"]`);
  if (!element) {
    element = document.createElement("div");
    element.className = "tile";
    element.dataset.sessionId = person.session_id;
    element.dataset.userId = person.user_id;
    const video = document.createElement("video");
    video.autoplay = video.playsInline = true;
    video.muted = true;  // sound plays through the <audio> element
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = person.name || person.user_id;
    element.append(video, label);
    $("#tiles").append(element);
  }
  return element;
}

function attachMedia(person) {
  const streams = call.media.get(person.track_lookup_prefix) || {};
  const element = tile(person);
  for (const [type, stream] of Object.entries(streams)) {
    if (TRACK_KINDS[type] === "video") {
      element.querySelector("video").srcObject = stream;
    } else if (!element.querySelector(`audio[data-track-type="${type}"]`)) {
      const audio = document.createElement("audio");
      audio.autoplay = true;
      audio.dataset.trackType = type;
      audio.srcObject = stream;
      element.append(audio);
      meter(person.session_id, stream);
    }
  }
}

// ------------------------------------------------------------ transports
function withTimeout(promise, what) {
  return Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS / 1000} s`)),
      TIMEOUT_MS))]);
}

async function rest(method, path, token, body) {
  const response = await withTimeout(fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "Authorization": token,
      "stream-auth-type": "jwt" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }), path);
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(result.message || result.error || `HTTP ${response.status}`);
  return result;
}

function connectCoordinator(apiKey, token, name) {
  const url = new URL(`/api/v2/connect?api_key=${encodeURIComponent(apiKey)}&stream-auth-type=jwt`,
    location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  call.coordinator = ws;
  return withTimeout(new Promise((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ token, products: ["video"],
      user_details: { id: call.userId, name } }));
    ws.onerror = () => reject(new Error("the server's coordinator socket failed"));
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "connection.ok") resolve(event.connection_id);
      else if (event.type === "connection.error" || event.type === "error") {
        reject(new Error((event.error && event.error.message) || "connection refused"));
      } else onCoordinatorEvent(event);
    };
  }), "The coordinator socket");
}

function onCoordinatorEvent(event) {
  if (event.type === "custom") {
    const from = (event.user && event.user.id) || "?";
    const text = JSON.stringify(event.custom);
    addLine($("#events"), `${from}: ${text}`).dataset.userId = from;
  } else if (event.type === "call.closed_caption" && event.closed_caption) {
    const caption = event.closed_caption;
    const speaker = caption.speaker_id || (caption.user && caption.user.id) || "?";
    addLine($("#captions"), `${speaker}: ${caption.text}`).dataset.speakerId = speaker;
  } else if (event.type === "call.ended") {
    finish("The call ended");
  }
}

// The SFU, through the server's JSON bridge.
class SfuBridge {
  constructor(onEvent, onClose) {
    const url = new URL("/join/api/sfu", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(url);
    this.calls = new Map();
    this.nextId = 1;
    this.ws.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event) onEvent(...Object.entries(data.event)[0]);
      else if (data.id !== undefined && this.calls.has(data.id)) {
        const { resolve, reject } = this.calls.get(data.id);
        this.calls.delete(data.id);
        if (data.error) reject(new Error(data.error)); else resolve(data.response || {});
      } else if (data.error) showError(`The SFU bridge: ${data.error}`);
    };
    this.ws.onclose = () => onClose();
    this.opened = withTimeout(new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error("the SFU bridge socket failed"));
    }), "The SFU bridge");
  }

  request(body) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ request: body }));
  }

  async twirp(method, body) {
    const id = this.nextId++;
    const answer = new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
    this.ws.send(JSON.stringify({ twirp: method, id, token: call.sfuToken, body }));
    const response = await withTimeout(answer, method);
    if (response.error && response.error.code) throw new Error(`${method}: ${response.error.message}`);
    return response;
  }

  close() { this.ws.close(1000); }
}

function iceGathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000);  // go with the candidates found so far
  });
}

// --------------------------------------------------------------- the call
async function receiveCodecsOffer() {
  const probe = new RTCPeerConnection();
  probe.addTransceiver("audio", { direction: "recvonly" });
  probe.addTransceiver("video", { direction: "recvonly" });
  const offer = await probe.createOffer();
  probe.close();
  return offer.sdp;
}

async function getMedia() {
  if (!navigator.mediaDevices) {
    throw new Error("This page needs a secure context for the microphone: open it at " +
      "http://127.0.0.1 or http://localhost (or over https).");
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (cameraError) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      throw new Error(`No microphone (${error.name}: ${error.message}). Allow microphone access and try again.`);
    }
  }
}

async function publish() {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  call.publisher = pc;
  for (const track of call.local.getTracks()) {
    pc.addTransceiver(track, { direction: "sendonly", streams: [call.local] });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  const tracks = pc.getTransceivers().map((transceiver) => ({
    track_id: transceiver.sender.track.id,
    track_type: transceiver.sender.track.kind === "audio" ? "TRACK_TYPE_AUDIO" : "TRACK_TYPE_VIDEO",
    mid: transceiver.mid,
  }));
  const answer = await call.sfu.twirp("SetPublisher",
    { sdp: pc.localDescription.sdp, session_id: call.sessionId, tracks });
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
}

async function subscribe() {
  const tracks = [];
  for (const person of call.people.values()) {
    if (person.session_id === call.sessionId) continue;
    for (const type of person.published_tracks || []) {
      if (!TRACK_KINDS[type]) continue;
      tracks.push({ user_id: person.user_id, session_id: person.session_id, track_type: type,
        dimension: { width: 640, height: 480 } });
    }
  }
  await call.sfu.twirp("UpdateSubscriptions", { session_id: call.sessionId, tracks });
}

let offers = Promise.resolve();
function answerOffer(sdp) {
  offers = offers.then(async () => {
    if (!call.subscriber) {
      call.subscriber = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
      call.subscriber.ontrack = onTrack;
    }
    const pc = call.subscriber;
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGathered(pc);
    await call.sfu.twirp("SendAnswer",
      { peer_type: "PEER_TYPE_SUBSCRIBER", sdp: pc.localDescription.sdp, session_id: call.sessionId });
  }).catch((error) => showError(`Receiving media failed: ${error.message}`));
}

function onTrack(event) {
  // The SFU names each stream "<track lookup prefix>:<track type number>".
  const streamId = event.streams[0] ? event.streams[0].id : "";
  const cut = streamId.lastIndexOf(":");
  const prefix = streamId.slice(0, cut);
  const type = TRACK_NUMBERS[streamId.slice(cut + 1)] || `TRACK_TYPE_${event.track.kind.toUpperCase()}`;
  const streams = call.media.get(prefix) || {};
  streams[type] = event.streams[0] || new MediaStream([event.track]);
  call.media.set(prefix, streams);
  for (const person of call.people.values()) {
    if (person.track_lookup_prefix === prefix) attachMedia(person);
  }
}

function upsert(person) {
  if (!person || !person.session_id) return;
  const known = call.people.get(person.session_id) || {};
  call.people.set(person.session_id, { ...known, ...person, published_tracks: person.published_tracks || [] });
  render();
  attachMedia(call.people.get(person.session_id));
}

function onSfuEvent(kind, event) {
  switch (kind) {
    case "join_response":
      for (const person of (event.call_state && event.call_state.participants) || []) upsert(person);
      joined();
      break;
    case "participant_joined":
    case "participant_updated":
      upsert(event.participant);
      subscribe().catch(() => {});
      break;
    case "participant_left":
      if (event.participant) {
        call.people.delete(event.participant.session_id);
        call.meters.delete(event.participant.session_id);
      }
      render();
      subscribe().catch(() => {});
      break;
    case "track_published":
    case "track_unpublished":
      upsert(event.participant);
      subscribe().catch(() => {});
      break;
    case "subscriber_offer":
      answerOffer(event.sdp);
      break;
    case "dominant_speaker_changed":
      for (const person of call.people.values()) person.dominant = person.session_id === event.session_id;
      render();
      break;
    case "error":
      showError(`The SFU refused: ${(event.error && event.error.message) || "unknown error"}`);
      break;
    case "call_ended":
      finish("The call ended");
      break;
  }
}

function joined() { if (call.onJoined) call.onJoined(); }

// Who is speaking: a level meter on each audio stream (yours and everyone you hear).
function meter(sessionId, stream) {
  const analyser = call.audio.createAnalyser();
  analyser.fftSize = 1024;
  call.audio.createMediaStreamSource(stream).connect(analyser);
  call.meters.set(sessionId, { analyser, stream, samples: new Float32Array(analyser.fftSize) });
}

function readMeters() {
  let changed = false;
  for (const [sessionId, { analyser, stream, samples }] of call.meters) {
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    const live = stream.getAudioTracks().some((track) => track.enabled && track.readyState === "live");
    const person = call.people.get(sessionId);
    const speaking = live && rms > SPEAKING_RMS;
    if (person && person.speaking !== speaking) { person.speaking = speaking; changed = true; }
  }
  if (changed) render();
}

async function join(userId) {
  $("#error").hidden = true;
  call.userId = userId;
  setState("joining", "Joining…");
  const minted = await rest("GET", `/join/api/token?user_id=${encodeURIComponent(userId)}`, "");
  const token = query.get("token") || minted.token;  // ?token= tries a token of your own
  const apiKey = minted.api_key;
  let connectionId;
  try {
    connectionId = await connectCoordinator(apiKey, token, userId);
  } catch (error) {
    throw new Error(`Your token was refused: ${error.message}`);
  }
  call.local = await getMedia();
  const path = `/api/v2/video/call/${encodeURIComponent(callType)}/${encodeURIComponent(callId)}` +
    `/join?api_key=${encodeURIComponent(apiKey)}&connection_id=${encodeURIComponent(connectionId)}`;
  const credentials = (await rest("POST", path, token, { create: true, location: "local" })).credentials;
  call.sfuToken = credentials.token;
  call.sessionId = crypto.randomUUID();
  call.people.clear();
  call.media.clear();
  call.meters.clear();
  const joinResponse = new Promise((resolve) => { call.onJoined = resolve; });
  call.sfu = new SfuBridge(onSfuEvent, () => finish("Disconnected from the call"));
  await call.sfu.opened;
  call.sfu.request({ join_request: { token: call.sfuToken, session_id: call.sessionId,
    subscriber_sdp: await receiveCodecsOffer() } });
  await withTimeout(joinResponse, "The SFU join");
  await publish();
  await subscribe();
  meter(call.sessionId, call.local);
  call.timers.push(setInterval(readMeters, 200));
  call.timers.push(setInterval(() => call.sfu.request(
    { health_check_request: { session_id: call.sessionId } }), 10000));
  call.timers.push(setInterval(() => call.coordinator.readyState === WebSocket.OPEN &&
    call.coordinator.send(JSON.stringify({ type: "health.check", client_id: connectionId })), 15000));
  $("#lobby").hidden = true;
  $("#room").hidden = false;
  setState("joined", `In the call as ${userId}`);
}

function finish(text) {
  if (call.state === "left" || call.state === "idle") return;
  for (const timer of call.timers) clearInterval(timer);
  for (const pc of [call.publisher, call.subscriber]) if (pc) pc.close();
  if (call.local) for (const track of call.local.getTracks()) track.stop();
  if (call.sfu) call.sfu.close();
  if (call.coordinator) call.coordinator.close(1000);
  for (const audio of document.querySelectorAll("audio")) audio.srcObject = null;
  $("#room").hidden = true;
  if (call.state !== "error") setState("left", text);
}

function leave() {
  if (call.sfu) call.sfu.request({ leave_call_request: { session_id: call.sessionId, reason: "user is leaving the call" } });
  finish("You left the call");
}

function toggle(button, kind, type) {
  const track = call.local && call.local.getTracks().find((t) => t.kind === kind);
  if (!track) return;
  track.enabled = !track.enabled;
  button.setAttribute("aria-pressed", String(!track.enabled));
  call.sfu.twirp("UpdateMuteStates", { session_id: call.sessionId,
    mute_states: [{ track_type: type, muted: !track.enabled }] }).catch(() => {});
}

// ----------------------------------------------------------------- wiring
$("#call-name").textContent = `${callType}:${callId}`;
$("#user-id").value = query.get("user_id") || `guest-${Math.random().toString(36).slice(2, 7)}`;
$("#lobby").addEventListener("submit", (event) => {
  event.preventDefault();
  $("#join").disabled = true;
  call.audio = call.audio || new AudioContext();  // made on the click, so it may play
  join($("#user-id").value).catch((error) => {
    showError(`Could not join: ${error.message}`);
    finish("Not in the call");
    $("#join").disabled = false;
  });
});
$("#mute").addEventListener("click", (event) => toggle(event.target, "audio", "TRACK_TYPE_AUDIO"));
$("#camera").addEventListener("click", (event) => toggle(event.target, "video", "TRACK_TYPE_VIDEO"));
$("#leave").addEventListener("click", leave);
window.addEventListener("pagehide", () => { if (call.state === "joined") leave(); });
