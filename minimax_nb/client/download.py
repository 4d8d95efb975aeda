"""Audio files on disk: where a job's audio goes and how it gets there safely.

The file name comes from the job, never from the server: ``<readable stem>-<digest>.<ext>``, where the
digest is ``sha256(provider + "\\0" + job key)[:16]`` so two different jobs never share a file (ids like
``job.1``/``job_1``, all-non-ASCII ids or long ids with a common prefix all differ in the digest). Bytes
are streamed into a temporary ``.<name>.<random>.part`` file in the destination directory; the first
bytes are sniffed (:func:`sniff_audio`) before anything is kept, so an HTML/JSON/XML error page or an
empty body is never saved as a song, and the file is renamed into place only when complete. Every
failure removes the partial file; :func:`clean_orphans` removes those left by a killed process.
:func:`audio_duration` reads the length of a saved file from its headers (MP3 frame walk, WAV, FLAC).
The HTTP part lives in the clients; this module only touches the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from minimax_nb.errors import MiniMaxError
from minimax_nb.models import Job

__all__ = ["AUDIO_EXTENSIONS", "MAX_COVER_BYTES", "SNIFF_BYTES", "AudioSink", "DownloadError",
           "audio_duration", "audio_path_for", "cache_stem", "check_content_type", "clean_orphans",
           "cover_path_for", "file_digest", "find_cached", "safe_name", "sniff_audio", "write_audio_bytes"]

AUDIO_EXTENSIONS = ("mp3", "wav", "flac", "pcm", "ogg", "m4a")
_CONTENT_TYPES = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/flac": "flac", "audio/ogg": "ogg", "audio/mp4": "m4a",
}
#: Content types that announce headerless samples (the only way besides the request to accept raw PCM).
_PCM_TYPES = frozenset({"audio/pcm", "audio/l16", "audio/raw", "audio/x-raw", "audio/basic"})
#: How many leading bytes :class:`AudioSink` collects before it decides whether the body is audio.
SNIFF_BYTES = 64


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_name(text: str, limit: int = 80) -> str:
    """``text`` reduced to a safe file-name fragment (no separators, no leading dots)."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "job"
    return cleaned[:limit]


def file_digest(path: Path) -> tuple[str, int]:
    """``(sha256, size)`` of a file already on disk."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


class DownloadError(MiniMaxError):
    """The audio could not be saved: not audio, wrong content type, too large, or the job has no audio."""


# ------------------------------------------------------------------------------------------ sniffing


def _main_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _mpeg_header(b: bytes) -> tuple[int, int, int, int, int, int] | None:
    """``(version, layer, bitrate_idx, rate_idx, padding, channel_mode)`` of a valid MPEG audio frame
    header at the start of ``b`` (version 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5; layer 3 = Layer I,
    1 = Layer III), or ``None``."""
    if len(b) < 4 or b[0] != 0xFF or (b[1] & 0xE0) != 0xE0:
        return None
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate_idx, rate_idx = b[2] >> 4, (b[2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate_idx in (0, 15) or rate_idx == 3:
        return None  # reserved values (or free format, which no provider serves)
    return version, layer, bitrate_idx, rate_idx, (b[2] >> 1) & 1, b[3] >> 6


def _id3_size(b: bytes) -> int | None:
    """Total size of the ID3v2 tag at the start of ``b`` (header included), ``None`` if not a valid one."""
    if len(b) < 10 or b[:3] != b"ID3" or b[3] == 0xFF or b[4] == 0xFF or any(x & 0x80 for x in b[6:10]):
        return None
    size = (b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]
    return 10 + size + (10 if b[5] & 0x10 else 0)


def _container(b: bytes) -> str | None:
    """The audio format announced by the magic bytes at the start of ``b``, or ``None``."""
    if b[:4] in (b"RIFF", b"RF64") and b[8:12] == b"WAVE":
        return "wav"
    if b[:4] == b"fLaC":
        return "flac"
    if b[:4] == b"OggS":
        return "ogg"
    if b[4:8] == b"ftyp":
        return "m4a"
    tag = _id3_size(b)
    if tag is not None:
        # an ID3 tag usually heads an MP3; a FLAC after the tag is kept as FLAC when we can see it
        return "flac" if b[tag:tag + 4] == b"fLaC" else "mp3"
    if _mpeg_header(b) is not None:
        return "mp3"
    return None


def _describe_text(b: bytes) -> str | None:
    """What a text body looks like (``"an HTML page"``, ``"JSON"``…), or ``None`` when it is not text."""
    head = b.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\f\x00")[:SNIFF_BYTES].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "an HTML page"
    if head.startswith(b"<"):
        return "an XML/HTML document"
    if head.startswith((b"{", b"[")):
        return "a JSON document"
    try:
        text = b[:SNIFF_BYTES].decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is still text
        if exc.start < len(b[:SNIFF_BYTES]) - 3:
            return None
        text = b[:exc.start].decode("utf-8")
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "plain text"
    return None


def sniff_audio(first_bytes: bytes, content_type: str | None, *, requested: str | None = None) -> str:
    """The audio extension (``mp3``, ``wav``, ``flac``, ``ogg``, ``m4a`` or ``pcm``) of a body starting
    with ``first_bytes`` (give at least :data:`SNIFF_BYTES` of them when the body is that long).

    The bytes decide, not the server's ``content_type`` (an HTML page served as ``audio/mpeg`` or with no
    type at all is refused just the same). Raw PCM has no header, so it is accepted only when it was
    asked for (``requested="pcm"``, the request's ``audio_format``) or announced (``audio/pcm``,
    ``audio/L16``…), and even then never when the bytes read as text.

    Raises:
        DownloadError: an empty or truncated body, an HTML/XML/JSON/text page, or unknown bytes.
    """
    b = bytes(first_bytes)
    main = _main_type(content_type)
    served = f" (served as {main!r})" if main else " (served with no content type)"
    if not b:
        raise DownloadError(f"the audio answer was empty{served}; nothing was saved")
    found = _container(b)
    if found is not None:
        return found
    if len(b) < 12 and (b[:4] in (b"RIFF"[:len(b)], b"RF64"[:len(b)]) or b[:3] == b"ID3"[:len(b)]
                        or b[:1] == b"\xff"):
        raise DownloadError(f"the audio answer is only {len(b)} bytes, a truncated header{served}; "
                            "nothing was saved")
    text = _describe_text(b)
    if text is not None:
        raise DownloadError(f"the audio URL answered {text}{served}, not audio; nothing was saved")
    if (requested or "").lower().lstrip(".") == "pcm" or main in _PCM_TYPES:
        return "pcm"
    raise DownloadError(f"the audio URL answered bytes that are no known audio format{served} "
                        f"(starting {b[:8].hex(' ')}); nothing was saved")


# ------------------------------------------------------------------------------------------ names


def _extension(job: Job, url: str | None = None, content_type: str | None = None) -> str:
    if url:
        suffix = Path(urlsplit(url).path).suffix.lower().lstrip(".")
        if suffix in AUDIO_EXTENSIONS:
            return suffix
    if content_type:
        ext = _CONTENT_TYPES.get(_main_type(content_type))
        if ext:
            return ext
    fmt = (job.request.audio_format or "").lower()
    return fmt if fmt in AUDIO_EXTENSIONS else "mp3"


def cache_stem(provider: str, key: str) -> str:
    """The file name (without extension) of the audio of job ``key`` of ``provider``.

    ``<readable>-<16 hex digits>``: the readable part is for humans only (sanitised, at most 60
    characters); the digest of ``provider + "\\0" + key`` makes the name unique to that job.
    """
    digest = hashlib.sha256(f"{provider}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{safe_name(f'{provider}_{key}', limit=60)}-{digest}"


def _stem(job: Job) -> str:
    """The file name of ``job``'s audio without extension: where it is saved and where the cache looks."""
    return cache_stem(job.provider, job.key)


def audio_path_for(job: Job, dest: Path, *, url: str | None = None, content_type: str | None = None) -> Path:
    """Where ``job``'s audio is saved under directory ``dest``: ``<readable>-<digest>.<ext>``.

    Only a known audio extension is taken from the URL; the rest of the name is the job's own.
    """
    return dest / f"{_stem(job)}.{_extension(job, url, content_type)}"


def find_cached(job: Job, dest: Path) -> Path | None:
    """The already-downloaded file of ``job`` in ``dest`` (or ``job.audio_path``), if any.

    Only the job's own digest-named file counts. Files saved under the old ``<provider>_<id>`` naming
    are not looked for: that name was shared by colliding ids, so it cannot tell whose audio it holds
    (a job the ledger recorded keeps finding its file through ``job.audio_path``).
    """
    if job.audio_path is not None and Path(job.audio_path).is_file():
        return Path(job.audio_path)
    stem = _stem(job)
    for ext in AUDIO_EXTENSIONS:
        candidate = dest / f"{stem}.{ext}"
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MAX_COVER_BYTES = 10 * 1024 * 1024


def cover_path_for(audio_path: Path, content_type: str | None) -> Path | None:
    """Where the cover of the song saved at ``audio_path`` goes (``<stem>.cover.<ext>``, beside it, where
    the player looks), or ``None`` when ``content_type`` is not an image we keep."""
    ext = _IMAGE_TYPES.get((content_type or "").split(";")[0].strip().lower())
    return audio_path.with_name(f"{audio_path.stem}.cover.{ext}") if ext else None


def check_content_type(content_type: str | None, *, provider: str | None = None) -> None:
    """Accept ``audio/*`` and ``application/octet-stream`` (and a missing header); refuse the rest."""
    if not content_type:
        return
    main = content_type.split(";")[0].strip().lower()
    if main.startswith("audio/") or main in ("application/octet-stream", "binary/octet-stream"):
        return
    raise DownloadError(f"the audio URL answered {main!r}, not audio", provider=provider)


class AudioSink:
    """A temporary file in the destination directory that becomes ``target`` on ``commit()``.

    The first :data:`SNIFF_BYTES` bytes are held back and sniffed (:func:`sniff_audio`) before anything
    is written: a body that is not audio raises :class:`DownloadError` and leaves no file. When the
    sniffed format differs from ``target``'s extension, ``commit()`` saves under the right extension
    (``fix_extension=False`` keeps ``target`` exactly, for a file name the user chose) and returns it.

    Use as a context manager: leaving without ``commit()`` (an error) deletes the temporary file; a
    failing ``commit()`` deletes it too.

    Args:
        target: the final path (see :func:`audio_path_for`).
        max_bytes: the size cap.
        provider: for error messages.
        content_type: what the server announced (only used to accept announced raw PCM, and in errors).
        requested: the audio format the request asked for; ``None`` takes it from ``target``'s extension
            (``.pcm`` is the only format that cannot be recognised by its bytes).
        fix_extension: rename to the sniffed format's extension on commit.
    """

    def __init__(self, target: Path, *, max_bytes: int, provider: str | None = None,
                 content_type: str | None = None, requested: str | None = None,
                 fix_extension: bool = True) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.provider = provider
        self.content_type = content_type
        self.requested = requested if requested is not None else target.suffix.lower().lstrip(".") or None
        self.fix_extension = fix_extension
        self.size = 0
        #: the sniffed extension once known
        self.format: str | None = None
        self._head = bytearray()
        self._sha = hashlib.sha256()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        self._tmp = Path(tmp)
        try:
            self._fh = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            self._tmp.unlink(missing_ok=True)
            raise
        self._done = False

    def _sniff(self) -> None:
        try:
            self.format = sniff_audio(bytes(self._head), self.content_type, requested=self.requested)
        except DownloadError as exc:
            self.abort()
            raise DownloadError(str(exc), provider=self.provider) from None
        self._fh.write(self._head)
        self._head = bytearray()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.abort()
            raise DownloadError(f"audio larger than the {self.max_bytes}-byte cap", provider=self.provider)
        self._sha.update(chunk)
        if self.format is None:
            self._head += chunk
            if len(self._head) >= SNIFF_BYTES:
                self._sniff()
        else:
            self._fh.write(chunk)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def partial_path(self) -> Path:
        """The temporary file being written (gone after ``commit()`` or ``abort()``)."""
        return self._tmp

    def commit(self) -> Path:
        """Sniff (if fewer than :data:`SNIFF_BYTES` came), flush, then rename the temporary file onto the
        target (with the sniffed extension unless ``fix_extension=False``). Returns the saved path."""
        try:
            if self._done:
                raise DownloadError("this download was already committed or aborted", provider=self.provider)
            if self.format is None:
                self._sniff()
            final = self.target
            if (self.fix_extension and self.format is not None
                    and final.suffix.lower().lstrip(".") != self.format):
                final = final.with_suffix(f".{self.format}")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, final)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.target = final
        return final

    def abort(self) -> None:
        """Drop the partial file (idempotent; nothing happens after a successful ``commit()``)."""
        if not self._fh.closed:
            self._fh.close()
        if not self._done:
            self._done = True
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()

    def __enter__(self) -> AudioSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def write_audio_bytes(job: Job, data: bytes, dest: Path, *, ext: str | None = None,
                      max_bytes: int) -> tuple[Path, str, int]:
    """Write audio carried in an answer (platform hex) straight to its file. Returns path, sha256, size.

    The bytes are sniffed like a download: anything that is not audio raises :class:`DownloadError`
    and writes nothing; a format other than ``ext`` is saved under its own extension.
    """
    fmt = (ext or "").lower().lstrip(".")
    target = audio_path_for(job, dest, url=f"x.{fmt}" if fmt in AUDIO_EXTENSIONS else None)
    requested = fmt or (job.request.audio_format or "").lower() or None
    with AudioSink(target, max_bytes=max_bytes, provider=job.provider, requested=requested) as sink:
        sink.write(data)
        path = sink.commit()
        return path, sink.sha256, sink.size


# ------------------------------------------------------------------------------------------ orphans

#: ``.<audio file name>.<random>.part``: the temporary files of :class:`AudioSink`.
_PART = re.compile(r"^\..+\.(?:" + "|".join(AUDIO_EXTENSIONS) + r")\.[A-Za-z0-9_]+\.part$")


def clean_orphans(directory: Path, older_than_s: float = 3600.0) -> int:
    """Remove the partial downloads (``.<name>.<random>.part``) in ``directory`` that were last written
    more than ``older_than_s`` seconds ago: what a killed process left behind. A download in progress
    (in this or another process) keeps writing to its file, so it is younger and left alone.

    Only files named like :class:`AudioSink`'s are touched (never a song, never a subdirectory).
    Returns how many files were removed; a missing directory gives 0.
    """
    directory = Path(directory)
    cutoff = time.time() - older_than_s
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        if not _PART.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed


# ------------------------------------------------------------------------------------------ duration

#: kbps by [version is MPEG-1][layer][index]; layer 3 = Layer I, 2 = Layer II, 1 = Layer III.
_KBPS = {
    (True, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(b: bytes | memoryview, pos: int) -> tuple[int, int, int] | None:
    """``(frame length, samples per frame, sample rate)`` of the MPEG frame at ``pos``, or ``None``."""
    hdr = _mpeg_header(bytes(b[pos:pos + 4]))
    if hdr is None:
        return None
    version, layer, bitrate_idx, rate_idx, padding, _ = hdr
    v1 = version == 3
    kbps = _KBPS[(v1, layer)][bitrate_idx]
    rate = _RATES[version][rate_idx]
    if layer == 3:  # Layer I: 4-byte slots
        return (12 * kbps * 1000 // rate + padding) * 4, 384, rate
    spf = 1152 if (layer == 2 or v1) else 576
    return spf // 8 * kbps * 1000 // rate + padding, spf, rate


def _mp3_duration(data: bytes) -> float | None:
    """Walk the MPEG frames of an MP3 (after any ID3v2 tag); a LAME/Xing ``Info`` frame is not audio,
    and its encoder delay and padding are taken off. ``None`` when no run of frames is found."""
    view = memoryview(data)
    pos = _id3_size(data[:10]) or 0
    # find the first frame that is followed by another (a stray 0xFF in a tag is not a frame)
    limit = min(len(data), pos + 64 * 1024)
    while pos < limit:
        frame = _mpeg_frame(view, pos)
        if frame is not None and (pos + frame[0] >= len(data) or _mpeg_frame(view, pos + frame[0])):
            break
        pos += 1
    else:
        return None
    samples = 0
    rate = 0
    trim = 0
    first = True
    while pos + 4 <= len(data):
        frame = _mpeg_frame(view, pos)
        if frame is None:
            break
        length, spf, rate = frame
        if first:
            first = False
            info = _info_frame(data, pos)
            if info is not None:
                trim = info
                pos += length
                continue
        samples += spf
        pos += length
    if not samples or not rate:
        return None
    return max(samples - trim, 0) / rate


def _info_frame(data: bytes, pos: int) -> int | None:
    """For a Xing/Info frame at ``pos``: the encoder delay + padding (samples) from its LAME tag, or 0
    without one. ``None`` when the frame is ordinary audio."""
    hdr = _mpeg_header(data[pos:pos + 4])
    if hdr is None:
        return None
    mono = hdr[5] == 3
    side = (17 if mono else 32) if hdr[0] == 3 else (9 if mono else 17)
    at = pos + 4 + side
    if data[at:at + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(data[at + 4:at + 8], "big")
    lame = at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
    if data[lame:lame + 4] != b"LAME" or len(data) < lame + 24:
        return 0
    b = data[lame + 21:lame + 24]
    delay, padding = (b[0] << 4) | (b[1] >> 4), ((b[1] & 0x0F) << 8) | b[2]
    return delay + padding


def _wav_duration(data: bytes) -> float | None:
    """From the ``fmt `` and ``data`` chunks of a RIFF/WAVE file (a streamed file whose data size is
    unknown or too big counts the bytes that are there)."""
    pos = 12
    block_align = rate = 0
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if cid == b"fmt " and size >= 16:
            rate = int.from_bytes(data[body + 4:body + 8], "little")
            block_align = int.from_bytes(data[body + 12:body + 14], "little")
        elif cid == b"data":
            if not rate or not block_align:
                return None
            size = min(size, len(data) - body)
            return size // block_align / rate
        pos = body + size + (size & 1)
    return None


def _flac_duration(data: bytes) -> float | None:
    """From the STREAMINFO block (total samples and sample rate); ``None`` when the total is unknown."""
    if len(data) < 8 + 34 or data[4] & 0x7F != 0:
        return None
    info = int.from_bytes(data[8 + 10:8 + 18], "big")
    rate, total = info >> 44, info & ((1 << 36) - 1)
    return total / rate if rate and total else None


def audio_duration(path: Path) -> float | None:
    """The duration in seconds of a saved MP3 (frame walk), WAV or FLAC file, read from its headers
    (no decoding); ``None`` for other formats or a file that cannot be read.

    Used to fill ``job.duration_s`` after a download when the provider reported none.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        kind = _container(data[:SNIFF_BYTES])
        if kind == "wav":
            return _wav_duration(data)
        if kind == "flac":
            return _flac_duration(data)
        if kind == "mp3":
            return _mp3_duration(data)
    except (IndexError, ValueError, KeyError):
        return None
    return None
