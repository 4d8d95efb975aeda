"""A child process for the ledger tests: writes jobs in a loop, printing each local_id once committed.

    python tests/ledger/_writer.py LEDGER_PATH TAG COUNT [bulk]   (COUNT 0 = forever)

``bulk``: each step writes 200 jobs with one ``record_many`` (one transaction) and prints the step.
"""

from __future__ import annotations

import sys

from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest


def main() -> None:
    path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bulk = len(sys.argv) > 4 and sys.argv[4] == "bulk"
    led = Ledger(path)
    i = 0
    while bulk and (count == 0 or i < count):
        jobs = [Job(provider="aimlapi", request=MusicRequest(lyrics=f"{tag} {i} {k}\n" * 40, style=tag),
                    local_id=f"{tag}-{i}-{k}", id=f"b-{i}-{k}", status=JobStatus.COMPLETED)
                for k in range(200)]
        led.record_many(jobs)
        print(i, flush=True)
        i += 1
    while count == 0 or i < count:
        job = Job(provider="useapi", request=MusicRequest(lyrics=f"{tag} line {i}\n" * 20, style=tag),
                  local_id=f"{tag}-{i}")
        led.record_submitting(job)
        job = job.evolve(id=f"p-{tag}-{i}")
        led.record(job)
        job = job.evolve(status=JobStatus.RUNNING)
        led.record(job)
        job = job.evolve(status=JobStatus.COMPLETED, duration_s=float(i))
        led.record(job)
        print(job.local_id, flush=True)  # only after its last write committed
        i += 1
    led.close()


if __name__ == "__main__":
    main()
