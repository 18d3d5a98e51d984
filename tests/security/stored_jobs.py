"""The live lab's jobs as its database holds them: how many, and one written straight in.

A refusal must store nothing (``job_rows`` does not change); a job an older
version or a bug could have left is written with ``store_job``, past every
check, to see what the scheduler and the APIs make of it.
"""

from __future__ import annotations

from typing import Any

from tools.livelab import LiveLab


def job_rows(lab: LiveLab) -> int:
    """How many TestJob rows the lab's database holds."""
    code = "from lava.server.scheduler.models import TestJob\nprint(TestJob.objects.count())"
    return int(lab.query(code))


def store_job(lab: LiveLab, definition: str, tags: tuple[str, ...] = (), **fields: Any) -> int:
    """A qemu job of mallory's written straight into the database; ``fields`` are TestJob
    fields (numbers, text) and ``tags`` names of tags it asks for. Its id."""
    values = "".join(f", {key}={value!r}" for key, value in fields.items())
    return int(
        lab.query(
            "from django.contrib.auth.models import User\n"
            "from lava.server.scheduler.models import Tag, TestJob\n"
            f"text = {definition!r}\n"
            "job = TestJob.objects.create(submitter=User.objects.get(username='mallory'), "
            f"definition=text, original_definition=text, requested_device_type_id='qemu'{values})\n"
            f"for name in {list(tags)!r}:\n"
            "    job.tags.add(Tag.objects.get_or_create(name=name)[0])\n"
            "print(job.id)"
        )
    )
