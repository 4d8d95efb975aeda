"""Build the example notebooks from the cells below, saved without outputs.

    .venv/bin/python scripts/make_notebooks.py            # rewrite notebooks/0{1,2,3,4,5}_*.ipynb
    .venv/bin/python scripts/make_notebooks.py --check    # exit 1 when a saved notebook differs

Edit the cells here, not the .ipynb files, so changes are reviewable. Every notebook runs top to bottom
offline (provider ``local`` or the emulator) and reads as a tutorial: no test plumbing is saved in it.
The test suite (``tests/notebooks/``) executes each notebook with one probe cell of its own appended
(never saved) that reads the notebook's variables, and checks those facts against the files made and
the cells' outputs; the browser tests (``tests/browser/``) read the studio notebook's page.

``02_studio.ipynb`` is also a Voila app (``voila notebooks/02_studio.ipynb``): its cells tagged
``remove-cell`` (``VOILA_HIDDEN``) are the tutorial around the studio, and ``voila.json`` (repo root and
``notebooks/``) configures nbconvert's ``TagRemovePreprocessor`` to drop them, so Voila shows the studio
alone. A dropped cell does not run in Voila either.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

Cell = nbformat.NotebookNode


def md(text: str, *tags: str) -> Cell:
    cell = new_markdown_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def code(text: str, *tags: str) -> Cell:
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell



# ------------------------------------------------------------------------------------------ 01

QUICKSTART = [
    md("""
# Quickstart: one song

Make one song with `MusicClient`, listen to it here, and see its row in the results DataFrame.

`provider="local"` runs the offline emulator of the provider APIs with a small song synthesizer behind
it: no key, no network. The synthesizer is a stand-in, not the real MiniMax model. For the real
services see `04_real_providers.ipynb`: the code is the same, only `provider=` changes.
"""),
    code("""
from minimax_nb import MusicClient, MusicRequest
from minimax_nb.lyrics import estimate_length, line_syllables, section_map
from minimax_nb.results import results
"""),
    md("""
## Describe the song
Lyrics use structure tags on their own line (`[Verse]`, `[Chorus]`, ...); `style` is free text.
`validate()` lists every problem before anything is sent (an empty list: nothing to fix).
"""),
    code("""
request = MusicRequest(
    lyrics=(
        "[Verse]\\n"
        "Morning light on the kitchen floor\\n"
        "Coffee steam and an open door\\n"
        "[Chorus]\\n"
        "Here comes the day, here comes the day\\n"
        "Nothing to lose and nothing to say\\n"
    ),
    style="warm acoustic pop, gentle female vocals, 100 bpm",
    title="First Light",
)
client = MusicClient(provider="local")   # the offline emulator: no key, no network
client.validate(request)
"""),
    md("""
## Before paying: what the lyrics will make
Syllables per line, the sections, and a rough song length (a rule of thumb until your ledger has
finished songs to learn from: pass `results`' ledger jobs as `history`).
"""),
    code("""
for n, (line, syl) in enumerate(zip(request.lyrics.splitlines(), line_syllables(request.lyrics)), 1):
    print(f"{syl or '':>3}  {line}")
print([f"{s.label}: {s.lines} lines" for s in section_map(request.lyrics)])
print("estimated length:", estimate_length(request.lyrics))
"""),
    md("""
## Generate
`generate()` submits, waits for the final state and downloads the audio (about 5 s here; the real
services take about a minute). The job shows as a card with a player; the lyrics are folded under it.
"""),
    code("""
job = client.generate(request)
job
"""),
    md("""
## Its row in the results
`results()` reads the job ledger (every job, kept across restarts) into a DataFrame, with facts measured
from the audio file: duration, sample rate, loudness, tempo...
"""),
    code("""
frame = results()
row = frame[frame["local_id"] == job.local_id]
row.T
"""),
    code("client.close()"),
]

# ------------------------------------------------------------------------------------------ 02

#: The tag of the studio notebook's cells that Voila leaves out (``voila.json``'s TagRemovePreprocessor).
VOILA_HIDDEN = "remove-cell"

STUDIO = [
    md("""
# The studio

Write lyrics, pick a provider, generate, watch the jobs, compare the results and listen, in one widget.

- `minimax_nb.studio(provider="local")` works offline with no key: the emulator of the provider APIs with
  a small song synthesizer behind it (a stand-in, not the real MiniMax model).
- Jobs run in the background: the kernel stays free, you can keep working in other cells while the
  monitor updates.
- Keys: the launcher shows where a key comes from (`key from $APIIN_API_KEY`). A key pasted into its
  field is kept in memory only and the field is cleared at once, so it is never saved in the notebook.
- Every job is kept in the ledger (`.minimax_nb/ledger.sqlite`), so a kernel restart loses nothing.
- As an app: `voila notebooks/02_studio.ipynb` shows the studio alone (the cells around it are tagged
  `remove-cell`, which the repository's `voila.json` leaves out).
""", VOILA_HIDDEN),
    code("""
import minimax_nb

studio = minimax_nb.studio(provider="local")
studio
"""),
    md("""
## The plain client, beside the studio
`generate()` works in a cell while the studio keeps running (a progress bar shows while it waits). The
job shows as a card with its player and the lyrics folded; `studio.table.add(job)` puts the song into
the studio's results table, and so into its player.
""", VOILA_HIDDEN),
    code("""
from minimax_nb import MusicClient, MusicRequest

with MusicClient(provider="local") as client:
    job = client.generate(MusicRequest(lyrics="[Verse]\\nOne more song from a plain cell", style="lo-fi",
                                       title="From a cell"))
studio.table.add(job)
job
""", VOILA_HIDDEN),
]

# ------------------------------------------------------------------------------------------ 03

COMPARE = [
    md("""
# Compare: styles × lyrics × providers

A grid of songs made by the six provider APIs at once (useapi.net, AIML API, apiin.one, the MiniMax
platform, fal.ai and Replicate), compared in one DataFrame, plotted, and listened to side by side. The
providers are **emulated** (`minimax_nb.emulator.Emulator`, on 127.0.0.1), so this runs offline: each
client below talks HTTP to the emulator exactly as it would to the real service, quirks included (fal's
queue and its `Authorization: Key …`, Replicate's predictions); set `base_url`/`api_key` to use a real one.
"""),
    code("""
%matplotlib inline
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from minimax_nb import MusicClient, MusicRequest
from minimax_nb.emulator import DEFAULT_KEY, Emulator
from minimax_nb.results import compare, cost_total, listen, pivot, plot, results

SPEED = float(os.environ.get("MINIMAX_NB_LOCAL_SPEED", "20"))   # 20: a song in about 3 s
LEDGER = Path(".minimax_nb") / "emulated.sqlite"   # emulated jobs stay out of your real ledger
PROVIDERS = ["useapi", "aimlapi", "apiin", "minimax", "fal", "replicate"]
"""),
    md("## The emulator and one client per provider"),
    code("""
emu = Emulator(speed=SPEED)
emu.start()
clients = {
    p: MusicClient(p, base_url=emu.base_url(p), api_key=DEFAULT_KEY, ledger=LEDGER,
                   emulator_speed=SPEED, download_dir="minimax_nb_audio/emulated")
    for p in PROVIDERS
}
{p: c.base_url for p, c in clients.items()}
"""),
    md("""
## The grid
Every provider uses its default model (fal.ai: `fal-ai/minimax-music/v2`, Replicate: `minimax/music-1.5`;
`model=` on the client picks another). useapi.net's v1 API takes a style *id* from its own list instead
of a description: pick the closest.
"""),
    code("""
STYLES = ["bright synth-pop, female vocals", "smoky jazz ballad, upright bass"]
LYRICS = {
    "harbor": "[Verse]\\nLights across the harbor\\nBoats come sailing home\\n[Chorus]\\nHold on, hold on",
    "rain": "[Verse]\\nRain upon the window\\nQuiet in the hall\\n[Chorus]\\nLet it fall, let it fall",
}
useapi_styles = clients["useapi"].styles()


def useapi_style_id(style: str) -> str:
    words = set(style.lower().replace(",", " ").split())
    best = max(useapi_styles, key=lambda s: len(words & set(s["name"].lower().split())))
    return best["styleId"]


def request_for(provider: str, style: str, name: str) -> MusicRequest:
    return MusicRequest(
        lyrics=LYRICS[name], style=style, title=f"{name} / {style.split(',')[0]}",
        style_id=useapi_style_id(style) if provider == "useapi" else None,
    )


grid = {p: [request_for(p, s, n) for s in STYLES for n in LYRICS] for p in PROVIDERS}
pd.DataFrame([(p, r.title, r.style_id) for p, rs in grid.items() for r in rs],
             columns=["provider", "title", "style_id"])
"""),
    md("""
## Run it all at once
Every provider runs its batch with `generate_many` (bounded concurrency; useapi.net allows one song at a
time per account, so its batch queues), and the six batches run side by side in threads.
"""),
    code("""
with ThreadPoolExecutor(len(PROVIDERS)) as pool:
    futures = {p: pool.submit(clients[p].generate_many, grid[p]) for p in PROVIDERS}
    jobs = {p: f.result() for p, f in futures.items()}
{p: [str(j.status) for j in js] for p, js in jobs.items()}
"""),
    md("## Compare"),
    code("""
ids = {j.local_id for js in jobs.values() for j in js}
frame = results(LEDGER)
frame = frame[frame["local_id"].isin(ids)].reset_index(drop=True)
frame[["provider", "title", "status", "latency_s", "reported_duration_s", "measured_duration_s",
       "loudness_lufs", "tempo_bpm"]]
"""),
    code("compare(frame, by=\"provider\")"),
    md("""
`style` is the text you asked for on every provider (useapi's own style name is in `style_name`), so
a style × provider table lines up:
"""),
    code("pivot(frame, index=\"style\", columns=\"provider\", values=\"measured_duration_s\")"),
    code("plot(frame, kind=\"duration\")"),
    md("""
What the grid would have cost on the real services: `usd` sums the estimates, `unknown` counts the songs
with no price estimate (of these six, only apiin.one, fal.ai and Replicate publish a price per song).
Per provider, `—` where unknown:
"""),
    code("cost_total(frame)"),
    code("""
per_song = frame.groupby("provider", observed=True)["est_cost_usd"]
costs = pd.DataFrame({"songs": per_song.size(), "est. USD": per_song.sum(min_count=1)}).astype(object)
costs.where(costs.notna(), "—")
"""),
    md("""
## Listen side by side
Players first, a waveform over each. The audio is linked, not embedded, so the notebook stays small;
`listen(frame, embed=True)` embeds it (size-capped) for a copy that plays anywhere.
"""),
    code("listen(frame)"),
    code("""
for c in clients.values():
    c.close()
emu.stop()
"""),
]

# ------------------------------------------------------------------------------------------ 04

REAL = [
    md("""
# The real providers

Each real provider with its key from the environment. A provider without a key is skipped politely,
so this notebook runs anywhere; set a key and re-run to spend real money on a real song:

| provider | key variable | flow |
| --- | --- | --- |
| useapi.net | `USEAPI_API_TOKEN` | blocking create (about a minute), one song at a time per account |
| AIML API | `AIMLAPI_API_KEY` | submit, then poll |
| apiin.one | `APIIN_API_KEY` | submit, then poll |
| MiniMax platform | `MINIMAX_API_KEY` | one blocking request |
| fal.ai | `FAL_KEY` | a queue: submit, status reads, then one result read |
| Replicate | `REPLICATE_API_TOKEN` | a prediction: create, then poll; the output is deleted an hour after |

Keys are read from the environment, never typed into a cell: a notebook is easy to share. On Binder or
Colab, where you cannot set the environment first, ask for it with `getpass` (nothing is saved in the
notebook):

```python
import os, getpass
os.environ["AIMLAPI_API_KEY"] = getpass.getpass("AIML API key: ")
```
"""),
    code("""
import os
import tempfile
from pathlib import Path

import pandas as pd

from minimax_nb import MusicClient, MusicRequest
from minimax_nb.errors import MiniMaxError
from minimax_nb.providers import ENV_KEYS, get_adapter

KEYS = dict(ENV_KEYS)   # every real provider and its key variable, e.g. {"fal": "FAL_KEY", ...}
available = {p: bool(os.environ.get(var)) for p, var in KEYS.items()}
for p, var in KEYS.items():
    print(f"{p:9} {'key found' if available[p] else 'no key (set ' + var + ' to try it)'}")
"""),
    md("""
## What a song costs, and what each provider accepts
Estimates come from the adapters (pure code, no request, no key); `—` where the price is not published.
"""),
    code("""
song = MusicRequest(
    lyrics="[Verse]\\nCity lights are calling\\nI can hear them through the wall\\n[Chorus]\\nWe are falling",
    style="indie pop, driving drums, male vocals",
    title="City Lights",
)
rows = []
for p in KEYS:
    adapter = get_adapter(p)
    spec = adapter.model_spec(None)
    rows.append({
        "provider": p,
        "default model": adapter.default_model,
        "est. USD per song": adapter.estimate_cost_usd(song),
        "lyrics max": spec.lyrics_max,
        "blocking create": adapter.blocking_submit,
        "songs at once per account": adapter.per_account_limit,
        "problems with this song": [i.message for i in adapter.validate(song)],
    })
table = pd.DataFrame(rows).set_index("provider")
for col in ("lyrics max", "songs at once per account"):
    table[col] = table[col].astype("Int64")
table.astype(object).where(table.notna(), "—")   # integers stay integers, unknowns show as —
"""),
    md("""
fal.ai and Replicate each sell several MiniMax models, with different inputs and prices (`model=` on the
client or `MusicRequest(model=...)` picks one). Mind fal's v1.5: its `prompt` field is the *lyrics* and
`lyrics_prompt` the *style*, the other way round from v2 — the adapter fills the right fields for you.
"""),
    code("""
def span(low: int, high: int | None) -> str | None:
    # a length range in characters; None (shown as —) where no limit is published
    if high is None:
        return None
    return f"{low}–{high}" if low > 0 else f"≤{high}"


models = []
for p in ("fal", "replicate"):
    adapter = get_adapter(p)
    for name, spec in adapter.models.items():
        models.append({
            "provider": p,
            "model": name + (" (default)" if name == adapter.default_model else ""),
            "est. USD per song": adapter.estimate_cost_usd(song, model=name),
            "lyrics chars": span(spec.lyrics_min, spec.lyrics_max),
            "style chars": span(spec.prompt_min, spec.prompt_max),
            "instrumental": spec.supports_instrumental,
            "problems with this song": [i.message for i in adapter.validate(song, model=name)
                                        if i.level == "error"],
        })
models = pd.DataFrame(models).set_index(["provider", "model"]).astype(object)
models.where(models.notna(), "—")
"""),
    md("""
## One song per provider
Each cell runs only when its key is set. useapi.net's v1 API wants a style id from its list.

A submit is a purchase, so it is sent once: if its answer is lost (a dropped connection, a timeout, a
gateway error) the job is recorded `ambiguous` and never sent again. (fal's own Python client,
`fal_client`, re-sends a submit after a dropped connection: two songs bought.) Replicate deletes a
prediction's output an hour after it finishes; `generate()` downloads it at once.
"""),
    code("""
skipped, made = [], {}


def try_provider(provider: str, request: MusicRequest) -> None:
    if not available[provider]:
        print(f"skipped {provider}: {KEYS[provider]} is not set")
        skipped.append(provider)
        return
    with MusicClient(provider) as client:
        if provider == "useapi":
            request = request.replace(style_id=client.styles()[0]["styleId"])
        print(f"{provider}: estimated cost {client.estimate_cost(request)} USD")
        try:
            job = client.generate(request)
        except MiniMaxError as err:
            print(f"{provider}: {type(err).__name__}: {err}")
            return
        made[provider] = job
        print(f"{provider}: {job.status}, {job.duration_s} s, {job.audio_path}")
"""),
    code("try_provider(\"useapi\", song)"),
    code("try_provider(\"aimlapi\", song)"),
    code("try_provider(\"apiin\", song)"),
    code("try_provider(\"minimax\", song)"),
    code("try_provider(\"fal\", song)"),
    code("try_provider(\"replicate\", song)"),
    md("""
## Resuming after a restart
Every job is written to the ledger *before* its submit is sent. If the kernel dies while songs are
being made, `client.resume()` in the new kernel re-attaches to every unfinished job (never sending it
again: that could buy the song twice), waits for it and downloads the audio.

Shown here against the emulator (so it runs without a key) with a throw-away ledger: a first client
submits and is closed without waiting, as if the kernel had died; a second one resumes.
"""),
    code("""
from minimax_nb.emulator import DEFAULT_KEY, Emulator

SPEED = float(os.environ.get("MINIMAX_NB_LOCAL_SPEED", "20"))
demo_ledger = Path(tempfile.mkdtemp()) / "ledger.sqlite"
with Emulator(speed=SPEED) as emu:
    settings = dict(base_url=emu.base_url("aimlapi"), api_key=DEFAULT_KEY, ledger=demo_ledger,
                    emulator_speed=SPEED)
    first = MusicClient("aimlapi", **settings)
    left_behind = first.submit(song)
    first.close()                                   # the kernel "dies" here
    print("left behind:", left_behind)
    submits_before = emu.submissions("aimlapi")

    with MusicClient("aimlapi", **settings) as second:   # "after the restart"
        resumed = second.resume()
    resubmitted = emu.submissions("aimlapi") - submits_before
print("resumed:", resumed, "| creates sent again:", resubmitted)
"""),
    md("With real keys, after a restart: `with MusicClient(\"aimlapi\") as c: c.resume()`."),
]

# ------------------------------------------------------------------------------------------ 05

ASYNC = [
    md("""
# Async and batches

`AsyncMusicClient` is `MusicClient` with `await`: in a notebook, top-level `await` just works (no
`asyncio.run`). `watch(job)` is an async iterator of updates. `generate_many` runs a batch with bounded
concurrency, globally and per account. Faults are injected into the emulator to show the retries.
"""),
    code("""
import os
from pathlib import Path

import pandas as pd

from minimax_nb import AsyncMusicClient, MusicRequest
from minimax_nb.display import Jobs
from minimax_nb.emulator import DEFAULT_KEY, Emulator

SPEED = float(os.environ.get("MINIMAX_NB_LOCAL_SPEED", "20"))
LEDGER = Path(".minimax_nb") / "emulated.sqlite"   # emulated jobs stay out of your real ledger
LYRICS = "[Verse]\\nPaper boats on a silver stream\\n[Chorus]\\nFloat away, float away"
"""),
    md("## Watch one job"),
    code("""
watched = []
async with AsyncMusicClient(provider="local") as client:
    job = await client.submit(MusicRequest(lyrics=LYRICS, style="dream pop", title="Paper Boats"))
    async for update in client.watch(job):
        watched.append(str(update.status))
        print(f"{update.status!s:>10}  {update.key}")
        job = update
    path = await client.download(job)
path
"""),
    md("""
## A batch with per-account limits
useapi.net makes one song at a time per account. With two accounts, a batch of six runs two at a
time, one per account; the other four wait their turn (nothing is refused, nothing is bought twice).
"""),
    code("""
emu = Emulator(speed=SPEED, useapi_accounts=("1001", "1002"))
emu.start()
useapi = AsyncMusicClient("useapi", base_url=emu.base_url("useapi"), api_key=DEFAULT_KEY,
                          account=["1001", "1002"], ledger=LEDGER, emulator_speed=SPEED,
                          download_dir="minimax_nb_audio/emulated")
style_id = (await useapi.styles())[0]["styleId"]
batch = await useapi.generate_many(
    [MusicRequest(lyrics=LYRICS, style_id=style_id, title=f"Take {i}") for i in range(6)]
)
Jobs(batch)   # a list of jobs displays as a table, a player per song
"""),
    code("""
timeline = pd.DataFrame([
    {"title": j.title or j.request.title, "account": j.account, "status": str(j.status),
     "started": j.created_at, "finished": j.finished_at}
    for j in batch
]).sort_values("started")
timeline
"""),
    code("""
def most_at_once(rows: pd.DataFrame) -> int:
    edges = sorted([(t, 1) for t in rows["started"]] + [(t, -1) for t in rows["finished"]],
                   key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


per_account = {acc: most_at_once(rows) for acc, rows in timeline.groupby("account")}
print("most songs at once per account:", per_account, "| overall:", most_at_once(timeline))
print("creates received by the emulator:", emu.submissions("useapi"))
"""),
    md("""
## Faults and retries
The emulator now answers some polls with `503` (with `Retry-After`), drops one connection, and
refuses one create with `429`. Status reads are retried with backoff; a refused create is sent again
(it was refused: nothing was bought). A create that may have reached the server is never replayed.
"""),
    code("""
aiml = AsyncMusicClient("aimlapi", base_url=emu.base_url("aimlapi"), api_key=DEFAULT_KEY, ledger=LEDGER,
                        emulator_speed=SPEED, download_dir="minimax_nb_audio/emulated")
rules = [
    emu.faults.add(route="poll", provider="aimlapi", kind="503", times=2, retry_after=1),
    emu.faults.add(route="poll", provider="aimlapi", kind="reset", times=1),
    emu.faults.add(route="submit", provider="aimlapi", kind="429", times=1, retry_after=1),
]
faulty = await aiml.generate_many(
    [MusicRequest(lyrics=LYRICS, style=s) for s in ("punk rock, fast", "bossa nova, soft", "ambient, slow")]
)
print([str(j.status) for j in faulty])
"""),
    code("""
log = [r for r in emu.requests if r.provider == "aimlapi"]
pd.DataFrame([
    {"t (s)": round(r.time - log[0].time, 2), "method": r.method, "route": r.route, "status": r.status,
     "fault": r.fault}
    for r in log
])
"""),
    code("""
await useapi.close()
await aiml.close()
emu.stop()
"""),
]

BOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_studio.ipynb": STUDIO,
    "03_compare.ipynb": COMPARE,
    "04_real_providers.ipynb": REAL,
    "05_async_and_batch.ipynb": ASYNC,
}


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[nbformat.from_dict(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: reruns of this script make no diff
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in BOOKS.items():
        text = nbformat.writes(build(cells)) + "\n"
        path = NOTEBOOKS / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run scripts/make_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
