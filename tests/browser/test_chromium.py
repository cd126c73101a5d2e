"""The shared Chromium fixture: the fake microphone plays the WAV the test chose."""

from __future__ import annotations

#: In-page: the strongest frequency of the microphone (an analyser on getUserMedia's audio),
#: and how many camera tracks the fake device gave.
MIC_PEAK_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, 800));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return {peakHz: best * ctx.sampleRate / analyser.fftSize, videoTracks: stream.getVideoTracks().length};
}"""


async def test_fake_microphone_plays_the_chosen_wav(browser_page):
    page = await browser_page(wav_freq=1000.0)
    # getUserMedia needs a secure context: serve a blank page at http://localhost/.
    await page.route(
        "http://localhost/",
        lambda route: route.fulfill(body="<p>mic</p>", content_type="text/html"),
    )
    await page.goto("http://localhost/")
    result = await page.evaluate(MIC_PEAK_JS)
    assert abs(result["peakHz"] - 1000.0) < 20, (result, page.console_lines)
    assert result["videoTracks"] == 1
