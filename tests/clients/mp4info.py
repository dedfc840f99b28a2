"""Reads an MP4's duration and picture size from its boxes (mvhd, tkhd): enough to check that
a downloaded video is the length and size the task asked for, with the standard library only."""

import struct


def _boxes(data, start, end):
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header:
            return
        yield kind.decode("latin-1"), at + header, at + size
        at += size


def info(data):
    """(seconds, width, height) of the first video track."""
    seconds = None
    width = height = 0
    for kind, body, end in _boxes(data, 0, len(data)):
        if kind != "moov":
            continue
        for inner, ibody, iend in _boxes(data, body, end):
            if inner == "mvhd":
                version = data[ibody]
                if version == 1:
                    timescale, duration = struct.unpack(">IQ", data[ibody + 20:ibody + 32])
                else:
                    timescale, duration = struct.unpack(">II", data[ibody + 12:ibody + 20])
                seconds = duration / timescale
            if inner == "trak":
                for tk, tbody, tend in _boxes(data, ibody, iend):
                    if tk == "tkhd":
                        w, h = struct.unpack(">II", data[tend - 8:tend])
                        if w and h and not width:
                            width, height = w >> 16, h >> 16
    return seconds, width, height
