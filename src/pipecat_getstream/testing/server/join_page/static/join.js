// The join page's display and controls (call.js holds the connection to the call).
"use strict";

const $ = (selector) => document.querySelector(selector);
const [, , callType, callId] = location.pathname.split("/").map(decodeURIComponent);
const query = new URLSearchParams(location.search);
const SPEAKING_RMS = 0.02;  // a level meter above this (full scale 1.0) is someone speaking

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
  const element = tile(person);
  if (person.session_id === call.sessionId) {  // yourself: your camera, never your sound
    const video = element.querySelector("video");
    if (video.srcObject !== call.local) video.srcObject = call.local;
    return;
  }
  const streams = call.media.get(person.track_lookup_prefix) || {};
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

// ------------------------------------------------------------ the call's media and events
function onTrack(event) {
  // The SFU names each stream "<track lookup prefix>:TRACK_TYPE_<NAME>:<tag>" (as the cloud
  // does; older servers put the type's number in place of its name).
  const [prefix, typePart] = (event.streams[0] ? event.streams[0].id : "").split(":");
  const type = TRACK_KINDS[typePart] ? typePart
    : TRACK_NUMBERS[typePart] || `TRACK_TYPE_${event.track.kind.toUpperCase()}`;
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
  call.twirpUrl = credentials.server.url;
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
    { health_check_request: {} }), 10000));
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
