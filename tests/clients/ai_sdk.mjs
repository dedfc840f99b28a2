// Drives reelay's Ark door with the Vercel AI SDK (`ai` + `@ai-sdk/bytedance`), unmodified:
// experimental_generateVideo with a first frame as bytes (the SDK sends it as a base64 data:
// URL), a last frame by URL, duration, aspect ratio and a pixel size the provider maps to a
// resolution; the SDK polls and downloads the MP4, whose length and size are measured here.
// Prints one JSON line for tests/it/clients.rs.
import { experimental_generateVideo as generateVideo } from "ai";
import { createByteDance } from "@ai-sdk/bytedance";

const { REELAY_BASE, REELAY_KEY, IMAGE_A, IMAGE_B } = process.env;

function fail(message) {
  console.error(`FAILED: ${message}`);
  process.exit(1);
}

// (seconds, width, height) of an MP4, from its mvhd and first tkhd boxes.
function mp4Info(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes = (start, end, visit) => {
    for (let at = start; at + 8 <= end;) {
      const size = view.getUint32(at);
      const kind = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      if (size < 8) return;
      visit(kind, at + 8, at + size);
      at += size;
    }
  };
  let seconds = null, width = 0, height = 0;
  boxes(0, bytes.length, (kind, body, end) => {
    if (kind !== "moov") return;
    boxes(body, end, (inner, ibody, iend) => {
      if (inner === "mvhd" && bytes[ibody] === 0) {
        seconds = view.getUint32(ibody + 16) / view.getUint32(ibody + 12);
      }
      if (inner === "trak" && !width) {
        boxes(ibody, iend, (tk, tbody, tend) => {
          if (tk === "tkhd") {
            width = view.getUint32(tend - 8) >>> 16;
            height = view.getUint32(tend - 4) >>> 16;
          }
        });
      }
    });
  });
  return { seconds, width, height };
}

const first = new Uint8Array(await (await fetch(IMAGE_A)).arrayBuffer());
// The SDK's default download refuses private addresses (reelay runs on loopback here, as it
// does on a company network): its documented `download` option fetches the result instead.
const download = async ({ url, abortSignal }) => {
  const response = await fetch(url, { signal: abortSignal });
  if (!response.ok) throw new Error(`download ${url}: ${response.status}`);
  return { data: new Uint8Array(await response.arrayBuffer()), mediaType: response.headers.get("content-type") ?? undefined };
};
const bytedance = createByteDance({ baseURL: `${REELAY_BASE}/api/v3`, apiKey: REELAY_KEY });
const { video, warnings } = await generateVideo({
  model: bytedance.video("dreamina-seedance-2-0-260128"),
  prompt: { image: first, text: "she turns around" },
  duration: 4,
  aspectRatio: "9:16",
  resolution: "480x864",
  providerOptions: { bytedance: { lastFrameImage: IMAGE_B, pollIntervalMs: 200, watermark: false } },
  download,
});
const info = mp4Info(video.uint8Array);
if (Math.abs(info.seconds - 4) > 0.2) fail(`4 s, got ${info.seconds}`);
if (info.width !== 480 || info.height !== 864) fail(`480x864, got ${info.width}x${info.height}`);
if (video.mediaType !== "video/mp4") fail(`media type ${video.mediaType}`);

// A refused request surfaces as the SDK's API error, with reelay's message naming the field.
try {
  await generateVideo({
    model: bytedance.video("dreamina-seedance-2-0-260128"),
    prompt: "x",
    duration: 99,
    providerOptions: { bytedance: { pollIntervalMs: 200 } },
    maxRetries: 0,
    download,
  });
  fail("duration 99 accepted");
} catch (error) {
  const text = `${error.message} ${error.responseBody ?? ""} ${error.lastError?.responseBody ?? ""}`;
  if (!text.includes("duration")) fail(`the error does not name duration: ${text}`);
}

console.log(JSON.stringify({ bytes: video.uint8Array.length, seconds: info.seconds, warnings: warnings.length }));
