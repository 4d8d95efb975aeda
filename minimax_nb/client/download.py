"""Audio files on disk: where a job's audio goes and how it gets there safely.

The file name comes from the job (``<provider>_<id>.<ext>``, sanitised), never from the server. Bytes
are streamed into a temporary file in the destination directory and renamed into place only when
complete, so a half-written file never looks like a song; a size cap and a content-type check guard
against an HTML error page or a runaway body. The HTTP part lives in the clients; this module only
touches the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from minimax_nb.errors import MiniMaxError
from minimax_nb.models import Job

__all__ = ["AUDIO_EXTENSIONS", "AudioSink", "DownloadError", "audio_path_for", "check_content_type",
           "cover_path_for", "find_cached"]

AUDIO_EXTENSIONS = ("mp3", "wav", "flac", "pcm", "ogg", "m4a")
_CONTENT_TYPES = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/flac": "flac", "audio/ogg": "ogg", "audio/mp4": "m4a",
}


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
    """The audio could not be saved: wrong content type, too large, or the job has no audio."""


def _extension(job: Job, url: str | None = None, content_type: str | None = None) -> str:
    if url:
        suffix = Path(urlsplit(url).path).suffix.lower().lstrip(".")
        if suffix in AUDIO_EXTENSIONS:
            return suffix
    if content_type:
        ext = _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if ext:
            return ext
    fmt = (job.request.audio_format or "").lower()
    return fmt if fmt in AUDIO_EXTENSIONS else "mp3"


def audio_path_for(job: Job, dest: Path, *, url: str | None = None, content_type: str | None = None) -> Path:
    """Where ``job``'s audio is saved under directory ``dest``: ``<provider>_<id>.<ext>``.

    Only a known audio extension is taken from the URL; the rest of the name is the job's own.
    """
    return dest / f"{_stem(job)}.{_extension(job, url, content_type)}"


def _stem(job: Job) -> str:
    """The file name of ``job``'s audio without extension: where it is saved and where the cache looks."""
    return safe_name(f"{job.provider}_{job.key}", limit=120)


def find_cached(job: Job, dest: Path) -> Path | None:
    """The already-downloaded file of ``job`` in ``dest`` (or ``job.audio_path``), if any."""
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

    Use as a context manager: leaving without ``commit()`` (an error) deletes the temporary file.
    """

    def __init__(self, target: Path, *, max_bytes: int, provider: str | None = None) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.provider = provider
        self.size = 0
        self._sha = hashlib.sha256()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        self._tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb")
        self._done = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise DownloadError(f"audio larger than the {self.max_bytes}-byte cap", provider=self.provider)
        self._sha.update(chunk)
        self._fh.write(chunk)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def commit(self) -> Path:
        """Flush, then rename the temporary file onto the target. Returns the target."""
        if self.size == 0:
            raise DownloadError("the audio answer was empty", provider=self.provider)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self.target)
        self._done = True
        return self.target

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if not self._done:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()

    def __enter__(self) -> AudioSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def write_audio_bytes(job: Job, data: bytes, dest: Path, *, ext: str | None = None,
                      max_bytes: int) -> tuple[Path, str, int]:
    """Write audio carried in an answer (platform hex) straight to its file. Returns path, sha256, size."""
    fmt = (ext or "").lower().lstrip(".")
    target = audio_path_for(job, dest, url=f"x.{fmt}" if fmt in AUDIO_EXTENSIONS else None)
    with AudioSink(target, max_bytes=max_bytes, provider=job.provider) as sink:
        sink.write(data)
        path = sink.commit()
        return path, sink.sha256, sink.size


def audio_duration(path: Path) -> float | None:
    """The duration in seconds of a WAV file from its header (``None`` for other formats).

    Interim reader; the MP3 frame walk lands with the download rework.
    """
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else None
    except (wave.Error, OSError, EOFError):
        return None


def clean_orphans(directory: Path, older_than_s: float = 3600.0) -> int:
    """Interim: the download rework removes partial files left by a killed process. Returns 0."""
    del directory, older_than_s
    return 0
