"""Drives reelay's OpenAI door with the official OpenAI SDK (openai), unmodified: create (a
file as input_reference, seed fields as extra form fields and in metadata), create_and_poll,
download the MP4 and its thumbnail (with a Range request too), list with cursors, remix, delete,
errors in the SDK's own terms, a wrong key. Prints one JSON line of what it made for
tests/it/clients.rs to check through the other doors and the ledger."""

import json
import os
import sys
import urllib.request
import warnings

import openai
from openai import OpenAI

import mp4info

warnings.simplefilter("ignore", DeprecationWarning)

BASE = os.environ["REELAY_BASE"]
KEY = os.environ["REELAY_KEY"]
IMAGE_A = os.environ["IMAGE_A"]
IMAGE_B = os.environ["IMAGE_B"]
VIDEO = os.environ["VIDEO_URL"]
AUDIO = os.environ["AUDIO_URL"]
MODEL = "seedance2.0-sp"

client = OpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0)


def check(condition, message):
    if not condition:
        print("FAILED: " + message, file=sys.stderr)
        sys.exit(1)


png = urllib.request.urlopen(IMAGE_A).read()

# 1. A portrait first frame as a file part; 4 s; 720x1280 → 720p 9:16; a seed field as an extra
#    form field and one in metadata.
video = client.videos.create_and_poll(
    model=MODEL,
    prompt="she turns around",
    seconds="4",
    size="720x1280",
    input_reference=("portrait.png", png, "image/png"),
    extra_body={"watermark": "false", "metadata": {"seed": 7}},
    poll_interval_ms=100,
)
check(video.status == "completed", f"ended {video.status}: {video.error}")
check(video.object == "video" and video.progress == 100, str(video))
check(video.seconds == "4" and video.model == MODEL, str(video))
check(video.size == "704x1248", f"720p at 9:16 is 704x1248, got {video.size}")
check(video.expires_at and video.expires_at > video.created_at, "expires_at set")
content = client.videos.download_content(video.id, variant="video").read()
seconds, width, height = mp4info.info(content)
check(abs(seconds - 4) < 0.2, f"4 s, got {seconds}")
check((width, height) == (704, 1248), f"704x1248, got {width}x{height}")
thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
check(thumbnail[:8] == b"\x89PNG\r\n\x1a\n", "the thumbnail is a PNG")
ranged = client.videos.with_raw_response.download_content(
    video.id, extra_headers={"Range": "bytes=0-99"}
)
check(ranged.status_code == 206 and len(ranged.content) == 100, f"Range: {ranged.status_code}")

# 2. JSON media of every role through seed fields: reference image, video and audio.
refs = client.videos.create(
    model=MODEL,
    prompt="the dancer from the video",
    extra_body={
        "images": json.dumps([IMAGE_B]),
        "reference_videos": json.dumps([VIDEO]),
        "reference_audios": json.dumps([AUDIO]),
        "resolution": "480p",
        "ratio": "16:9",
    },
)
check(refs.status in ("queued", "in_progress"), f"created {refs.status}")
refs = client.videos.poll(refs.id, poll_interval_ms=100)
check(refs.status == "completed", f"refs ended {refs.status}: {refs.error}")
check(refs.size == "864x480", f"480p 16:9, got {refs.size}")

# 3. Remix: the original's inputs, a new prompt, a new task.
remixed = client.videos.remix(video.id, prompt="he turns around")
check(remixed.remixed_from_video_id == video.id and remixed.id != video.id, str(remixed))
remixed = client.videos.poll(remixed.id, poll_interval_ms=100)
check(remixed.status == "completed" and remixed.prompt == "he turns around", str(remixed))
check(remixed.size == video.size and remixed.seconds == video.seconds, "the original's inputs")

# 4. List with cursors: two pages of one, newest first, then ascending.
first = client.videos.list(limit=1)
check(len(first.data) == 1 and first.has_more, "first page")
check(first.data[0].id == remixed.id, f"newest first: {first.data[0].id}")
second = client.videos.list(limit=1, after=first.data[0].id)
check(second.data[0].id == refs.id, f"second page: {second.data[0].id}")
every = [v.id for v in client.videos.list(limit=100, order="asc")]
check(every.index(video.id) < every.index(refs.id) < every.index(remixed.id), f"asc {every}")
auto = [v.id for v in client.videos.list(limit=1)]  # iterating follows the cursors
check(auto == [remixed.id, refs.id, video.id], f"auto-paging {auto}")

# 5. Errors, with the OpenAI field named.
try:
    client.videos.create(model=MODEL, prompt="x", seconds="99")
    check(False, "99 seconds accepted")
except openai.BadRequestError as error:
    check(error.param == "seconds" and error.type == "invalid_request_error", f"{error.param} {error.type}")
try:
    client.videos.create(model=MODEL, prompt="x", size="3840x2160")
    check(False, "a 4k size accepted")
except openai.BadRequestError as error:
    check(error.param == "size", f"param {error.param}")
try:
    client.videos.retrieve("vid_nope")
    check(False, "an unknown id found")
except openai.NotFoundError:
    pass
try:
    OpenAI(base_url=BASE + "/v1", api_key="sk_wrong", max_retries=0).videos.retrieve(video.id)
    check(False, "a wrong key was accepted")
except openai.AuthenticationError:
    pass

# 6. Delete an ended video: gone.
deleted = client.videos.delete(refs.id)
check(deleted.deleted and deleted.object == "video.deleted" and deleted.id == refs.id, str(deleted))
try:
    client.videos.retrieve(refs.id)
    check(False, "a deleted video is still readable")
except openai.NotFoundError:
    pass

print(json.dumps({"video": video.id, "refs": refs.id, "remixed": remixed.id}))
