"""Fair share: the order in which queued jobs of one priority are served.

Among a device type's queued jobs of equal priority the next one served is
the oldest job of the *share* served least so far: the share's busy jobs on
that type (Scheduled, Running, Canceling) plus its jobs placed before in this
order, divided by its weight; ties go to the earlier submission, then the
lower id. A share is a submitter, or every member of a group listed in
``FAIR_SHARE_WEIGHTS``; weights default to 1. Health checks come first and a
higher priority always before a lower one, as in LAVA; ``SCHEDULER_ORDER:
lava`` keeps LAVA's order whole (submit time within a priority).

So a submitter with a few jobs waits a bounded number of assignments on a
type, whatever another has queued: at most about (its busy jobs + 1) times the
number of other shares waiting, for equal weights.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count

from .matching import QueuedJob
from .models import TestJob
from .snapshot import BUSY_STATES

FAIR, LAVA = "fair", "lava"
Band = tuple[bool, int]  # (health check, priority): jobs that compete on fair share alone


@dataclass(frozen=True)
class Shares:
    """Whose share each submitter's jobs count in, the shares' weights, and what each holds."""

    of: dict[int, str]  # submitter id -> share ("user:alice", "group:ci")
    weights: dict[str, float] = field(default_factory=dict)  # shares not listed weigh 1
    busy: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, share) -> jobs

    def share(self, submitter: int) -> str:
        return self.of.get(submitter, f"user #{submitter}")

    def weight(self, share: str) -> float:
        return self.weights.get(share, 1.0)

    def load(self, device_type: str, share: str) -> float:
        """How much of the type the share holds now, for its weight."""
        return self.busy.get((device_type, share), 0) / self.weight(share)


def share_names(submitters: Collection[int], weights: dict[str, float]) -> dict[int, str]:
    """Each submitter's share: ``user:NAME``, or the first group listed in ``weights`` they are in.

    A user listed by name keeps a share of their own, whatever their groups.
    """
    names = dict(User.objects.filter(pk__in=list(submitters)).values_list("pk", "username"))
    of = {pk: f"user:{name}" for pk, name in names.items()}
    listed = [key.partition(":")[2] for key in weights if key.startswith("group:")]
    if not listed:
        return of
    rank = {group: n for n, group in enumerate(listed)}
    member = User.groups.through.objects.filter(
        user_id__in=list(names), group__name__in=listed
    ).values_list("user_id", "group__name")
    chosen: dict[int, str] = {}
    for user_id, group in member:
        if of[user_id] in weights:
            continue
        if user_id not in chosen or rank[group] < rank[chosen[user_id]]:
            chosen[user_id] = group
    return of | {user_id: f"group:{group}" for user_id, group in chosen.items()}


def load_shares(
    device_types: Collection[str], submitters: Iterable[int], weights: dict[str, float]
) -> Shares:
    """The shares of these submitters and of the busy jobs on these types (a few queries)."""
    rows = (
        TestJob.objects.filter(
            state__in=BUSY_STATES,
            health_check=False,
            requested_device_type__in=list(device_types),
        )
        .values_list("requested_device_type_id", "submitter_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    busy_rows = list(rows)
    of = share_names({*submitters, *(s for _, s, _ in busy_rows)}, weights)
    busy: dict[tuple[str, str], int] = defaultdict(int)
    for device_type, submitter, n in busy_rows:
        busy[(device_type, of.get(submitter, f"user #{submitter}"))] += n
    return Shares(of=of, weights=weights, busy=dict(busy))


def _fair_ranks(
    indexes: list[int], share_of: list[str], shares: Shares, served: dict[str, float]
) -> list[int]:
    """The indexes (one type, one band, in LAVA's order) in fair-share order; spends ``served``."""
    lanes: dict[str, list[int]] = defaultdict(list)
    for index in indexes:
        lanes[share_of[index]].append(index)
    step = {share: 1 / shares.weight(share) for share in lanes}
    heads = dict.fromkeys(lanes, 0)
    heap = [(served[share], lane[0], share) for share, lane in lanes.items()]
    heapq.heapify(heap)
    order = []
    while heap:
        load, index, share = heapq.heappop(heap)
        order.append(index)
        served[share] = load = load + step[share]
        head = heads[share] = heads[share] + 1
        lane = lanes[share]
        if head < len(lane):
            heapq.heappush(heap, (load, lane[head], share))
    return order


def fair_order(jobs: Sequence[QueuedJob], shares: Shares) -> list[QueuedJob]:
    """``jobs`` (in LAVA's order) in fair-share order; deterministic for the same inputs."""
    names = {submitter: shares.share(submitter) for submitter in {job.submitter for job in jobs}}
    share_of = [names[job.submitter] for job in jobs]
    by_type: dict[str, dict[Band, list[int]]] = defaultdict(dict)
    band_rank: dict[Band, int] = {}
    for index, job in enumerate(jobs):
        band = (job.health_check, job.priority)
        band_rank.setdefault(band, len(band_rank))
        by_type[job.device_type].setdefault(band, []).append(index)
    keyed: list[tuple[int, int, int]] = []  # (band, rank in its type and band, LAVA index)
    for device_type, bands in by_type.items():
        served: dict[str, float] = {}
        for band, indexes in bands.items():  # in LAVA's order, so the served count carries on
            if band[0]:  # health checks keep LAVA's order and count in no share
                ranked = indexes
            else:
                for index in indexes:
                    if share_of[index] not in served:
                        served[share_of[index]] = shares.load(device_type, share_of[index])
                ranked = _fair_ranks(indexes, share_of, shares, served)
            rank = band_rank[band]
            keyed.extend((rank, n, index) for n, index in enumerate(ranked))
    keyed.sort()
    return [jobs[index] for _, _, index in keyed]


def fair_share_on() -> bool:
    return settings.LAVA.scheduler_order == FAIR


def service_order(jobs: list[QueuedJob]) -> list[QueuedJob]:
    """The jobs (from ``matching.queued_jobs``) in the order the scheduler serves them."""
    if not fair_share_on() or not jobs:
        return jobs
    weights = settings.LAVA.fair_share_weights
    types = {job.device_type for job in jobs}
    shares = load_shares(types, {job.submitter for job in jobs}, weights)
    return fair_order(jobs, shares)
