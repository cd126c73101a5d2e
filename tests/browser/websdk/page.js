// The test page's script: a minimal Stream web app built on @stream-io/video-client.
//
// Bundled with the SDK by tests/browser/websdk/bundle.py (never committed). It exposes
// `window.app`, whose async functions the browser tests call through Playwright: connect to
// a coordinator at a `baseURL`, join a call, publish the microphone/camera/screen, send and
// record custom events, and report what the page receives (audio level and dominant
// frequency per remote user through a WebAudio analyser, rendered video per remote user).

import { StreamVideoClient } from '@stream-io/video-client';

const state = {
  client: null,
  call: null,
  customEvents: [],
  logs: [],
  audio: new Map(), // `${userId}/${sessionId}` -> { analyser, stream, element, unbind }
  video: new Map(), // `${userId}/${sessionId}/${trackType}` -> { element, frames, unbind }
  audioContext: null,
  subscription: null,
};

function log(level, message) {
  state.logs.push({ level, message: String(message), at: Date.now() });
  if (state.logs.length > 500) state.logs.shift();
}

function sdkLogger(level, message, ...args) {
  if (level === 'warn' || level === 'error') {
    const extra = args.map((a) => (a instanceof Error ? a.message : '')).join(' ');
    log(level, `${message} ${extra}`.trim());
  }
}

function audioContext() {
  if (!state.audioContext) state.audioContext = new AudioContext();
  if (state.audioContext.state === 'suspended') void state.audioContext.resume();
  return state.audioContext;
}

function watchAudio(call, participant) {
  const key = `${participant.userId}/${participant.sessionId}`;
  const current = state.audio.get(key);
  const stream = participant.audioStream;
  if (!stream || (current && current.stream === stream)) return;
  if (current) current.source.disconnect();
  const ctx = audioContext();
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  // Binding emits participant state synchronously: the entry is stored first.
  const entry = current || { userId: participant.userId };
  Object.assign(entry, { stream, source, analyser });
  state.audio.set(key, entry);
  if (!entry.element) {
    // Played as a Stream app plays it (the SDK binds the element); Chromium also feeds a
    // remote track to WebAudio only while a media element plays it.
    entry.element = document.createElement('audio');
    entry.element.autoplay = true;
    document.body.appendChild(entry.element);
    entry.unbind = call.bindAudioElement(entry.element, participant.sessionId, 'audioTrack');
  }
}

function watchVideo(call, participant, trackType) {
  const streamName = trackType === 'videoTrack' ? 'videoStream' : 'screenShareStream';
  const key = `${participant.userId}/${participant.sessionId}/${trackType}`;
  if (state.video.has(key)) return;
  const element = document.createElement('video');
  element.autoplay = true;
  element.muted = true;
  element.playsInline = true;
  element.width = 320;
  element.height = 240;
  document.body.appendChild(element);
  const entry = { element, frames: 0, userId: participant.userId, trackType, streamName };
  const onFrame = () => {
    entry.frames += 1;
    element.requestVideoFrameCallback(onFrame);
  };
  element.requestVideoFrameCallback(onFrame);
  state.video.set(key, entry); // before binding: binding emits participant state at once
  entry.unbind = call.bindVideoElement(element, participant.sessionId, trackType);
}

function onParticipants(call, participants) {
  for (const p of participants) {
    if (p.isLocalParticipant) continue;
    watchAudio(call, p);
    watchVideo(call, p, 'videoTrack');
    watchVideo(call, p, 'screenShareTrack');
  }
}

function dominant(analyser) {
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i += 1) if (bins[i] > bins[best]) best = i;
  const samples = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(samples);
  let sum = 0;
  for (const s of samples) sum += s * s;
  return {
    frequency: (best * analyser.context.sampleRate) / analyser.fftSize,
    rms: Math.sqrt(sum / samples.length),
  };
}

window.app = {
  /** Create the client and open the coordinator socket. */
  async connect({ apiKey, token, userId, name, baseURL, hintUrl }) {
    state.client = new StreamVideoClient({
      apiKey,
      options: {
        baseURL,
        locationHintUrl: hintUrl,
        logOptions: { default: { sink: sdkLogger, level: 'warn' } },
      },
    });
    await state.client.connectUser({ id: userId, name: name || userId }, token);
    return state.client.streamClient._getConnectionID() || null;
  },

  /** Join (creating if needed) a call; optionally publish the microphone and camera. */
  async join(callType, callId, { mic = true, camera = false } = {}) {
    const call = state.client.call(callType, callId);
    state.call = call;
    call.on('custom', (event) => {
      state.customEvents.push({ user: event.user && event.user.id, custom: event.custom });
    });
    state.subscription = call.state.participants$.subscribe((ps) => onParticipants(call, ps));
    // Devices switched off before the join stay off (the call settings' defaults, camera
    // and microphone on, apply only to devices the app has not set).
    if (!mic) await call.microphone.disable();
    if (!camera) await call.camera.disable();
    await call.join({ create: true });
    if (mic) await call.microphone.enable();
    if (camera) await call.camera.enable();
    return call.state.localParticipant ? call.state.localParticipant.sessionId : null;
  },

  /** Share the (fake) screen; `audio: false` shares no tab audio (the SDK shares it by default). */
  async startScreenShare({ audio = true } = {}) {
    if (audio) state.call.screenShare.enableScreenShareAudio();
    else await state.call.screenShare.disableScreenShareAudio();
    await state.call.screenShare.enable();
  },

  async stopScreenShare() {
    await state.call.screenShare.disable();
  },

  async setMicrophone(on) {
    if (on) await state.call.microphone.enable();
    else await state.call.microphone.disable();
  },

  async sendCustomEvent(payload) {
    await state.call.sendCustomEvent(payload);
  },

  customEvents() {
    return state.customEvents.slice();
  },

  /** The remote participants: user id, session id and the track types they publish. */
  participants() {
    if (!state.call) return [];
    return state.call.state.remoteParticipants.map((p) => ({
      userId: p.userId,
      sessionId: p.sessionId,
      publishedTracks: p.publishedTracks.slice(),
      hasAudio: Boolean(p.audioStream),
      hasVideo: Boolean(p.videoStream),
    }));
  },

  /** Per remote user: the RMS level and dominant frequency of what the page receives now. */
  audioLevels() {
    const result = {};
    for (const entry of state.audio.values()) {
      const level = dominant(entry.analyser);
      const previous = result[entry.userId];
      if (!previous || level.rms > previous.rms) result[entry.userId] = level;
    }
    return result;
  },

  /** Per remote user and track type: rendered frames and the decoded size. */
  videoStats() {
    const result = {};
    for (const entry of state.video.values()) {
      if (!entry.element.srcObject) continue;
      const key = `${entry.userId}/${entry.trackType}`;
      result[key] = {
        frames: entry.frames,
        width: entry.element.videoWidth,
        height: entry.element.videoHeight,
      };
    }
    return result;
  },

  /** What the page's publisher connection sends: one entry per transceiver with a live track. */
  publishing() {
    const publisher = state.call && state.call.publisher;
    if (!publisher || !publisher.pc) return [];
    return publisher.pc
      .getTransceivers()
      .filter((t) => t.sender.track && t.sender.track.readyState === 'live')
      .map((t) => {
        const codecs = t.sender.getParameters().codecs || [];
        return { kind: t.sender.track.kind, mid: t.mid, codec: codecs.length ? codecs[0].mimeType : null };
      });
  },

  /** Capture the camera at another size (the call settings' target resolution otherwise). */
  async setCameraResolution(width, height) {
    await state.call.camera.selectTargetResolution({ width, height });
  },

  /** The size the page captures its camera and its screen at (null when off). */
  localVideoSizes() {
    const size = (stream) => {
      const track = stream && stream.getVideoTracks()[0];
      if (!track) return null;
      const { width, height } = track.getSettings();
      return [width, height];
    };
    return {
      camera: size(state.call && state.call.camera.state.mediaStream),
      screen: size(state.call && state.call.screenShare.state.mediaStream),
    };
  },

  callingState() {
    return state.call ? state.call.state.callingState : null;
  },

  connectionId() {
    return state.client ? state.client.streamClient._getConnectionID() || null : null;
  },

  async leave() {
    if (state.subscription) state.subscription.unsubscribe();
    state.subscription = null;
    for (const entry of state.video.values()) {
      if (entry.unbind) entry.unbind();
      entry.element.remove();
    }
    for (const entry of state.audio.values()) {
      if (entry.unbind) entry.unbind();
      entry.source.disconnect();
      entry.element.remove();
    }
    state.video.clear();
    state.audio.clear();
    if (state.call) await state.call.leave();
    state.call = null;
  },

  async disconnect() {
    if (state.client) await state.client.disconnectUser();
    state.client = null;
  },

  logs() {
    return state.logs.slice();
  },
};

window.addEventListener('error', (e) => log('error', e.message));
window.addEventListener('unhandledrejection', (e) => log('error', String(e.reason)));
