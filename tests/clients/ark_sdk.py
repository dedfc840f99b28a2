"""Drives reelay's Ark door with the official Volcengine Ark SDK (volcengine-ark-runtime),
unmodified: create with media of every role, poll to completion, download and measure the MP4,
list, delete, errors in the SDK's own terms, a wrong key. Prints one JSON line of what it made
for tests/it/clients.rs to check through the other doors and the ledger."""

import json
import os
import sys
import time
import urllib.request

from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import (
    ArkAuthenticationError,
    ArkBadRequestError,
    ArkNotFoundError,
)

import mp4info

BASE = os.environ["REELAY_BASE"]
KEY = os.environ["REELAY_KEY"]
IMAGE_A = os.environ["IMAGE_A"]
IMAGE_B = os.environ["IMAGE_B"]
VIDEO = os.environ["VIDEO_URL"]
AUDIO = os.environ["AUDIO_URL"]
MODEL = "doubao-seedance-2-0-260128"

client = Ark(base_url=BASE + "/api/v3", api_key=KEY, max_retries=0)
tasks = client.content_generation.tasks


def check(condition, message):
    if not condition:
        print("FAILED: " + message, file=sys.stderr)
        sys.exit(1)


def wait(task_id):
    for _ in range(1200):
        task = tasks.get(task_id=task_id)
        if task.status not in ("queued", "running"):
            return task
        time.sleep(0.1)
    check(False, f"task {task_id} never ended")


# 1. First and last frame, 4 s at 480p, 9:16.
frames = tasks.create(
    model=MODEL,
    content=[
        {"type": "text", "text": "a lighthouse at dusk"},
        {"type": "image_url", "image_url": {"url": IMAGE_A}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": IMAGE_B}, "role": "last_frame"},
    ],
    duration=4,
    resolution="480p",
    ratio="9:16",
    return_last_frame=True,
    safety_identifier="user-42",
    execution_expires_after=7200,
)
check(frames.id.startswith("vid_"), f"create answered {frames}")
done = wait(frames.id)
check(done.status == "succeeded", f"frames task ended {done.status}: {done.error}")
check(done.model == MODEL, f"model echoed as sent: {done.model}")
check(done.duration == 4 and done.resolution == "480p" and done.ratio == "9:16", str(done))
check(done.safety_identifier == "user-42", "safety_identifier shown back")
check(done.execution_expires_after == 7200, "execution_expires_after shown back")
check(done.usage.completion_tokens > 0, "usage estimated")
check(done.content.last_frame_url, "last frame returned")
video = urllib.request.urlopen(done.content.video_url).read()
seconds, width, height = mp4info.info(video)
check(abs(seconds - 4) < 0.2, f"video is 4 s long, not {seconds}")
check((width, height) == (480, 864), f"9:16 at 480p (reelay renders 480x864), got {width}x{height}")

# 2. Reference image, video and audio (Seedance 2.0 multimodal reference), 5 s default.
refs = tasks.create(
    model=MODEL,
    content=[
        {"type": "text", "text": "the dancer from the video, in the picture's style"},
        {"type": "image_url", "image_url": {"url": IMAGE_A}, "role": "reference_image"},
        {"type": "video_url", "video_url": {"url": VIDEO}, "role": "reference_video"},
        {"type": "audio_url", "audio_url": {"url": AUDIO}, "role": "reference_audio"},
    ],
    resolution="480p",
    ratio="16:9",
)
done_refs = wait(refs.id)
check(done_refs.status == "succeeded", f"references task ended {done_refs.status}: {done_refs.error}")
video = urllib.request.urlopen(done_refs.content.video_url).read()
seconds, width, height = mp4info.info(video)
check(abs(seconds - 5) < 0.2, f"default 5 s, got {seconds}")
check(width > height, f"16:9 is landscape, got {width}x{height}")

# 3. List: the caller's tasks, filtered and paged.
page = tasks.list(page_num=1, page_size=10, status="succeeded")
ids = [item.id for item in page.items]
check(frames.id in ids and refs.id in ids, f"listed {ids}")
check(page.total >= 2, f"total {page.total}")
one = tasks.list(page_size=1, task_ids=[frames.id])
check([item.id for item in one.items] == [frames.id] and one.total == 1, "filter.task_ids")

# 4. Errors the SDK raises, with the Ark field named.
try:
    tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}], duration=99)
    check(False, "duration 99 accepted")
except ArkBadRequestError as error:
    check(error.param == "duration" and error.code == "InvalidParameter", f"{error.code} {error.param}")
try:
    tasks.create(
        model=MODEL,
        content=[
            {"type": "text", "text": "x"},
            {"type": "image_url", "image_url": {"url": "ftp://nope/a.png"}, "role": "first_frame"},
        ],
    )
    check(False, "an ftp URL accepted")
except ArkBadRequestError as error:
    check(error.param == "content[1].image_url.url", f"param {error.param}")
try:
    tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}], service_tier="flex")
    check(False, "flex accepted")
except ArkBadRequestError as error:
    check(error.param == "service_tier", f"param {error.param}")
try:
    Ark(base_url=BASE + "/api/v3", api_key="sk_wrong", max_retries=0).content_generation.tasks.get(
        task_id=frames.id
    )
    check(False, "a wrong key was accepted")
except ArkAuthenticationError:
    pass

# 5. Delete: a queued task is cancelled (the local channel paused so that it stays queued); an
# ended one is gone.
def admin(path):
    request = urllib.request.Request(
        BASE + "/admin/v1" + path,
        data=b"{}",
        method="POST",
        headers={"Authorization": "Bearer " + os.environ["ADMIN_TOKEN"], "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()


admin("/channels/local/pause")
queued = tasks.create(model=MODEL, content=[{"type": "text", "text": "cancel me"}])
tasks.delete(queued.id)
cancelled = tasks.get(task_id=queued.id)
admin("/channels/local/resume")
check(cancelled.status == "cancelled", f"after delete: {cancelled.status}")
check(cancelled.error is None, "a cancelled task has no error")
tasks.delete(refs.id)
try:
    tasks.get(task_id=refs.id)
    check(False, "a deleted task is still readable")
except ArkNotFoundError:
    pass

print(json.dumps({"frames": frames.id, "refs": refs.id, "queued": queued.id, "queued_status": cancelled.status}))
