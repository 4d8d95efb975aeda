"""The disk side of downloads (issue 9): collision-free cache names, sniffing the first bytes so no
page is ever saved as a song, no partial file left behind, and durations read from the saved file."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from minimax_nb.client.download import (
    SNIFF_BYTES,
    AudioSink,
    DownloadError,
    audio_duration,
    audio_path_for,
    cache_stem,
    clean_orphans,
    find_cached,
    sniff_audio,
    write_audio_bytes,
)
from minimax_nb.errors import MiniMaxError
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.synth import encode, render
from minimax_nb.synth.encode import to_pcm16
from minimax_nb.synth.mix import Song

HTML = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"
JSON = b'{"error": {"code": 404, "message": "file not found"}}'
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>'


def job(key: str, provider: str = "aimlapi", fmt: str | None = "mp3") -> Job:
    return Job(provider=provider, request=MusicRequest(lyrics="[Verse]\nla", audio_format=fmt),
               id=key, status=JobStatus.COMPLETED)


@pytest.fixture(scope="module")
def song() -> Song:
    return render("[Verse]\nhello world\nsing along", "pop", seed=3, max_duration_s=4.0, sample_rate=24000)


@pytest.fixture(scope="module")
def mp3(song: Song) -> bytes:
    return encode(song, "mp3", bitrate=64000)


@pytest.fixture(scope="module")
def wav(song: Song) -> bytes:
    return encode(song, "wav")


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(("a", "b"), [
    ("job.1", "job_1"),
    ("歌曲一号", "歌曲二号"),  # all non-ASCII: both used to sanitise to the same "job" stem
    ("x" * 120 + "-first", "x" * 120 + "-second"),  # a common 120-character prefix
])
def test_different_jobs_never_share_a_cache_file(tmp_path: Path, a: str, b: str) -> None:
    ja, jb = job(a), job(b)
    pa, pb = audio_path_for(ja, tmp_path), audio_path_for(jb, tmp_path)
    assert pa != pb
    assert pa.parent == tmp_path and pa.suffix == ".mp3" and len(pa.name) < 120
    assert audio_path_for(ja, tmp_path) == pa  # stable
    pa.write_bytes(b"a's audio")
    assert find_cached(ja, tmp_path) == pa
    assert find_cached(jb, tmp_path) is None  # never handed the other job's audio
    pb.write_bytes(b"b's audio")
    assert find_cached(jb, tmp_path) == pb


def test_cache_name_is_readable_and_digests_provider_and_key(tmp_path: Path) -> None:
    stem = cache_stem("useapi", "job.1")
    digest = hashlib.sha256(b"useapi\0job.1").hexdigest()[:16]
    assert stem == f"useapi_job_1-{digest}"
    assert cache_stem("aimlapi", "job.1") != stem  # the same id at another provider
    assert audio_path_for(job("../../etc/passwd"), tmp_path).parent == tmp_path


def test_find_cached_ignores_the_old_ambiguous_name(tmp_path: Path) -> None:
    (tmp_path / "aimlapi_job_1.mp3").write_bytes(b"whose?")  # the old name shared by job.1 and job_1
    assert find_cached(job("job.1"), tmp_path) is None
    recorded = job("job.1").evolve(audio_path=tmp_path / "aimlapi_job_1.mp3")
    assert find_cached(recorded, tmp_path) == tmp_path / "aimlapi_job_1.mp3"  # the ledger knows it


# ------------------------------------------------------------------------------------------ sniffing


def test_real_synth_audio_is_recognised(mp3: bytes, wav: bytes) -> None:
    assert sniff_audio(mp3[:SNIFF_BYTES], "audio/mpeg") == "mp3"
    assert sniff_audio(mp3[:SNIFF_BYTES], None) == "mp3"
    assert sniff_audio(wav[:SNIFF_BYTES], "application/octet-stream") == "wav"
    assert sniff_audio(wav[:SNIFF_BYTES], "audio/mpeg") == "wav"  # the bytes decide
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x15" + b"\x00" * 0x15 + mp3
    assert sniff_audio(id3[:SNIFF_BYTES], None) == "mp3"


@pytest.mark.parametrize(("head", "ext"), [
    (b"fLaC\x00\x00\x00\x22" + b"\x00" * 40, "flac"),
    (b"OggS\x00\x02" + b"\x00" * 40, "ogg"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "m4a"),
    (b"RF64\xff\xff\xff\xffWAVEds64", "wav"),
])
def test_other_containers(head: bytes, ext: str) -> None:
    assert sniff_audio(head, None) == ext


@pytest.mark.parametrize("ctype", [None, "", "application/octet-stream", "audio/mpeg", "text/html"])
@pytest.mark.parametrize(("body", "what"), [(HTML, "HTML page"), (JSON, "JSON"), (XML, "XML"),
                                            (b"  \r\n" + HTML, "HTML page"),
                                            (b"\xef\xbb\xbf" + JSON, "JSON"),
                                            (b"Forbidden", "plain text")])
def test_pages_are_never_audio(body: bytes, what: str, ctype: str | None) -> None:
    with pytest.raises(DownloadError, match=what) as info:
        sniff_audio(body[:SNIFF_BYTES], ctype)
    assert isinstance(info.value, MiniMaxError)
    assert "nothing was saved" in str(info.value)


@pytest.mark.parametrize("body", [b"", b"ID3", b"ID3\x04\x00", b"\xff", b"\xff\xfb", b"RIFF\x10\x00"])
def test_empty_and_truncated_headers_are_refused(body: bytes) -> None:
    with pytest.raises(DownloadError, match=r"empty|truncated"):
        sniff_audio(body, None)


def test_a_frame_sync_with_reserved_fields_is_not_mp3() -> None:
    with pytest.raises(DownloadError, match="no known audio format"):
        sniff_audio(b"\xff\xff\xff\xff" + bytes(range(60)), None)  # bitrate index 15, layer bits ok


def test_raw_pcm_only_when_asked_or_announced(song: Song) -> None:
    pcm = to_pcm16(song)[20000:20000 + SNIFF_BYTES]  # headerless samples
    with pytest.raises(DownloadError, match="no known audio format"):
        sniff_audio(pcm, "application/octet-stream")
    assert sniff_audio(pcm, None, requested="pcm") == "pcm"
    assert sniff_audio(pcm, "audio/L16; rate=24000") == "pcm"
    assert sniff_audio(bytes(SNIFF_BYTES), None, requested="pcm") == "pcm"  # silence
    with pytest.raises(DownloadError, match="HTML"):
        sniff_audio(HTML, None, requested="pcm")  # text is text, whatever was asked
    with pytest.raises(DownloadError, match="JSON"):
        sniff_audio(JSON, "audio/pcm")


# ------------------------------------------------------------------------------------------ the sink


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("body", [HTML, JSON, b""])
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_sink_commits_nothing_that_is_not_audio(tmp_path: Path, body: bytes, chunk: int) -> None:
    target = audio_path_for(job("p1"), tmp_path)
    with pytest.raises(DownloadError), AudioSink(target, max_bytes=1 << 20, content_type=None) as sink:
        for i in range(0, len(body), chunk):
            sink.write(body[i:i + chunk])  # refused once SNIFF_BYTES are in …
        sink.commit()  # … or at the end of a shorter body
    assert files(tmp_path) == []


def test_sink_refuses_a_page_as_soon_as_it_sees_it(tmp_path: Path) -> None:
    target = audio_path_for(job("p2"), tmp_path)
    sink = AudioSink(target, max_bytes=1 << 20)
    sink.write(HTML[:10])
    with pytest.raises(DownloadError, match="HTML page"):
        sink.write(HTML[10:])  # SNIFF_BYTES reached: refused mid-stream, no context manager needed
    assert files(tmp_path) == []


def test_sink_saves_audio_in_small_chunks_and_fixes_the_extension(tmp_path: Path, mp3: bytes,
                                                                  wav: bytes) -> None:
    target = audio_path_for(job("p3"), tmp_path)
    with AudioSink(target, max_bytes=1 << 24) as sink:
        for i in range(0, len(mp3), 3):
            sink.write(mp3[i:i + 3])
        saved = sink.commit()
    assert saved == target and saved.read_bytes() == mp3
    assert sink.sha256 == hashlib.sha256(mp3).hexdigest() and sink.size == len(mp3)
    assert files(tmp_path) == [target.name]
    # wav bytes for a target named .mp3: saved as .wav (and found again by the cache)
    j = job("p4")
    with AudioSink(audio_path_for(j, tmp_path), max_bytes=1 << 24) as sink:
        sink.write(wav)
        saved = sink.commit()
    assert saved.suffix == ".wav" and find_cached(j, tmp_path) == saved
    exact = tmp_path / "mine.mp3"
    with AudioSink(exact, max_bytes=1 << 24, fix_extension=False) as sink:
        sink.write(wav)
        assert sink.commit() == exact


def test_sink_removes_its_partial_file_on_every_failure(tmp_path: Path, mp3: bytes,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = audio_path_for(job("p5"), tmp_path)
    with pytest.raises(DownloadError, match="cap"), AudioSink(target, max_bytes=100) as sink:
        sink.write(mp3[:80])
        sink.write(mp3[80:200])
    assert files(tmp_path) == []
    with pytest.raises(ConnectionError), AudioSink(target, max_bytes=1 << 24) as sink:
        sink.write(mp3[:1000])
        assert sink.partial_path.is_file()
        raise ConnectionError("reset mid-body")
    assert files(tmp_path) == []
    sink = AudioSink(target, max_bytes=1 << 24)
    sink.write(mp3)

    def no_rename(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space"):
        sink.commit()  # no context manager: commit cleans up by itself
    assert files(tmp_path) == []


def test_write_audio_bytes_sniffs_too(tmp_path: Path, wav: bytes) -> None:
    with pytest.raises(DownloadError, match="HTML"):
        write_audio_bytes(job("h1"), HTML, tmp_path, ext="mp3", max_bytes=1 << 20)
    with pytest.raises(DownloadError, match="empty"):
        write_audio_bytes(job("h2"), b"", tmp_path, ext="mp3", max_bytes=1 << 20)
    assert files(tmp_path) == []
    path, sha, size = write_audio_bytes(job("h3"), wav, tmp_path, ext="mp3", max_bytes=1 << 24)
    assert path.suffix == ".wav" and size == len(wav) and sha == hashlib.sha256(wav).hexdigest()
    pcm = bytes(range(256)) * 8
    path, _, _ = write_audio_bytes(job("h4", fmt="pcm"), pcm, tmp_path, ext="pcm", max_bytes=1 << 24)
    assert path.suffix == ".pcm" and path.read_bytes() == pcm
    with pytest.raises(DownloadError, match="no known audio format"):
        write_audio_bytes(job("h5"), pcm, tmp_path, ext="mp3", max_bytes=1 << 24)


# ------------------------------------------------------------------------------------------ orphans


def test_clean_orphans_removes_only_old_partial_downloads(tmp_path: Path, mp3: bytes) -> None:
    old = time.time() - 7200
    killed = AudioSink(audio_path_for(job("k1"), tmp_path), max_bytes=1 << 24)
    killed.write(mp3[:500])
    orphan = killed.partial_path
    os.utime(orphan, (old, old))
    live = AudioSink(audio_path_for(job("k2"), tmp_path), max_bytes=1 << 24)
    live.write(mp3[:500])
    song = tmp_path / "song.mp3"
    song.write_bytes(mp3)
    other = tmp_path / "notes.part"  # not ours
    other.write_text("x")
    (tmp_path / ".dir.mp3.abc.part").mkdir()
    for p in (song, other, tmp_path / ".dir.mp3.abc.part"):
        os.utime(p, (old, old))
    assert clean_orphans(tmp_path, older_than_s=3600) == 1
    assert not orphan.exists() and live.partial_path.is_file() and song.is_file() and other.is_file()
    assert clean_orphans(tmp_path, older_than_s=3600) == 0
    assert clean_orphans(tmp_path / "missing") == 0
    live.write(mp3[500:])
    assert live.commit().read_bytes() == mp3  # the live download was not disturbed
    killed.abort()  # its file is gone already: no error


# ------------------------------------------------------------------------------------------ durations


def test_duration_of_synth_wav_is_exact(tmp_path: Path, song: Song, wav: bytes) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(wav)
    got = audio_duration(path)
    assert got is not None and abs(got - song.duration_s) < 1e-6


@pytest.mark.parametrize(("rate", "bitrate"), [(44100, 128000), (24000, 64000), (16000, 32000),
                                               (8000, 16000), (48000, 320000)])
def test_duration_of_synth_mp3_from_its_frames(tmp_path: Path, rate: int, bitrate: int) -> None:
    song = render("[Verse]\nla la la", "lofi", seed=1, max_duration_s=3.0, sample_rate=rate)
    path = tmp_path / "a.mp3"
    path.write_bytes(encode(song, "mp3", bitrate=bitrate))
    got = audio_duration(path)
    assert got is not None
    spf = 1152 if rate >= 32000 else 576
    # whole frames: at most the encoder's delay (1105 samples) and one padded frame too long
    assert 0 <= got - song.duration_s <= (1105 + 2 * spf) / rate
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(b"ID3\x03\x00\x00\x00\x00\x01\x00" + b"\xff" * 128 + path.read_bytes())
    assert audio_duration(tagged) == got  # a tag (even one full of 0xFF) is skipped


def test_duration_of_other_and_broken_files(tmp_path: Path, wav: bytes, song: Song) -> None:
    streamed = bytearray(wav)
    streamed[40:44] = b"\xff\xff\xff\xff"  # a streamed WAV: data size unknown
    p = tmp_path / "s.wav"
    p.write_bytes(bytes(streamed))
    got = audio_duration(p)
    assert got is not None and abs(got - song.duration_s) < 1e-6
    half = tmp_path / "half.wav"
    half.write_bytes(wav[:44 + 24000 * 4])
    assert audio_duration(half) == pytest.approx(1.0)
    flac = bytearray(b"fLaC\x80\x00\x00\x22" + bytes(34))
    info = (44100 << 44) | (1 << 41) | (15 << 36) | (44100 * 7 // 2)  # 3.5 s, stereo, 16 bit
    flac[8 + 10:8 + 18] = info.to_bytes(8, "big")
    (tmp_path / "a.flac").write_bytes(bytes(flac))
    assert audio_duration(tmp_path / "a.flac") == pytest.approx(3.5)
    for name, data in (("page.mp3", HTML), ("empty.mp3", b""), ("junk.mp3", b"ID3\x04" + bytes(40))):
        (tmp_path / name).write_bytes(data)
        assert audio_duration(tmp_path / name) is None
    assert audio_duration(tmp_path / "missing.mp3") is None
