// The join page's connection to the call: plain browser WebRTC, no SDK.
//
// The steps a GetStream SDK takes, in JSON: a user token from the dev server, the coordinator
// WebSocket (custom events, captions), the REST join (SFU credentials), then the SFU: its
// signaling socket through the server's JSON bridge (/join/api/sfu: join_request and the
// SFU's events) and its Twirp API in JSON: a publisher connection (SetPublisher),
// subscriptions to everyone's tracks (UpdateSubscriptions) and the server-offered subscriber
// connection (subscriber_offer / SendAnswer). join.js draws it.
"use strict";

const TIMEOUT_MS = 15000;
const TWIRP_SERVICE = "stream.video.sfu.signal.SignalServer";
const TRACK_KINDS = { TRACK_TYPE_AUDIO: "audio", TRACK_TYPE_VIDEO: "video",
  TRACK_TYPE_SCREEN_SHARE: "video", TRACK_TYPE_SCREEN_SHARE_AUDIO: "audio" };
const TRACK_NUMBERS = { 1: "TRACK_TYPE_AUDIO", 2: "TRACK_TYPE_VIDEO", 3: "TRACK_TYPE_SCREEN_SHARE",
  4: "TRACK_TYPE_SCREEN_SHARE_AUDIO" };

// Everything the page knows; window.joinPage lets a person (or a test) look inside.
const call = {
  state: "idle", userId: null, sessionId: null, sfuToken: null, twirpUrl: null,
  people: new Map(),     // session id -> participant (as the SFU describes it)
  media: new Map(),      // track lookup prefix -> {TRACK_TYPE_...: MediaStream}
  local: null, coordinator: null, sfu: null, publisher: null, subscriber: null, timers: [],
  audio: null,           // the AudioContext of the level meters
  meters: new Map(),     // session id -> level meter
};
window.joinPage = call;

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

// The SFU: its signaling socket through the server's JSON bridge, its Twirp API in JSON.
class SfuBridge {
  constructor(onEvent, onClose) {
    const url = new URL("/join/api/sfu", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(url);
    this.ws.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event) onEvent(...Object.entries(data.event)[0]);
      else if (data.error) showError(`The SFU bridge: ${data.error}`);
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

  // One call of the SFU's Twirp SignalServer, in protobuf's JSON mapping.
  async twirp(method, body) {
    const response = await withTimeout(fetch(`${call.twirpUrl}/${TWIRP_SERVICE}/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": call.sfuToken },
      body: JSON.stringify(body),
    }), method);
    const result = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${method}: ${result.msg || `HTTP ${response.status}`}`);
    if (result.error && result.error.code) throw new Error(`${method}: ${result.error.message}`);
    return result;
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
