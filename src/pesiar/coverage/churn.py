"""The churn radar: who changed status between two maps, and why.

After each map (a done LinkRun) the residents' statuses of that map are compared with those of
the latest earlier map: every resident whose status changed, who was born, died, moved or
left gets one `Change` with its cause. Counts per village and cause are aggregates for the
dashboards; the rows themselves are personal data (scoped, like the worklists).
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count

from pesiar.coverage.models import Change
from pesiar.ops.duck import connect, sql_path
from pesiar.regions.codes import within_q
from pesiar.registers.vocabulary import InactiveReason

LOSSES = (
    Change.Cause.PBI_DEACTIVATED,
    Change.Cause.ARREARS,
    Change.Cause.EMPLOYMENT_ENDED,
    Change.Cause.OTHER_LOSS,
    Change.Cause.DEREGISTERED,
)
GAINS = (Change.Cause.REGISTERED, Change.Cause.REACTIVATED)
# The inactive reason of the new map -> the cause of a loss of activity.
REASON_CAUSES = {
    InactiveReason.PBI_DEACTIVATED: Change.Cause.PBI_DEACTIVATED,
    InactiveReason.ARREARS: Change.Cause.ARREARS,
    InactiveReason.LAYOFF_ENDED: Change.Cause.EMPLOYMENT_ENDED,
}


def previous_run(run):
    """The latest done map before `run`'s date (None for the first). The runs are read through
    the model of the run given, so the map's app stays above this one."""
    runs = type(run)
    return (
        runs.objects.filter(status=runs.Status.DONE, as_of__lt=run.as_of)
        .order_by("-as_of", "-id")
        .first()
    )


def change_rows(run, previous) -> list[tuple]:
    """(nik, kk, village_code, from_village_code, cause, before, after, segment) per changed
    resident between the persons of `previous` and of `run`."""
    reasons = " ".join(f"WHEN '{r}' THEN '{c}'" for r, c in REASON_CAUSES.items())
    con = connect()
    try:
        return con.execute(
            f"""
            WITH p AS (SELECT * FROM read_parquet({sql_path(previous.persons_file)})),
                 c AS (SELECT * FROM read_parquet({sql_path(run.persons_file)})),
                 dead AS (SELECT DISTINCT nik
                          FROM read_parquet({sql_path(run.population.data_file)})
                          WHERE death_date IS NOT NULL AND death_date <= DATE '{run.as_of}'),
                 j AS (
                    SELECT coalesce(c.nik, p.nik) AS nik, coalesce(c.kk, p.kk) AS kk,
                           coalesce(c.village_code, p.village_code) AS village_code,
                           p.village_code AS before_village, c.village_code AS after_village,
                           p.status AS before, c.status AS after, c.reason,
                           coalesce(c.segment, p.segment) AS segment, c.birth_date,
                           d.nik IS NOT NULL AS died
                    FROM p FULL JOIN c ON p.nik = c.nik LEFT JOIN dead d
                      ON d.nik = coalesce(c.nik, p.nik)
                 )
            SELECT nik, coalesce(kk, ''), village_code,
                   CASE WHEN before_village <> after_village THEN before_village ELSE '' END,
                   CASE
                     WHEN after IS NULL THEN CASE WHEN died THEN 'DECEASED' ELSE 'LEFT' END
                     WHEN before IS NULL THEN CASE
                         WHEN birth_date > DATE '{previous.as_of}' THEN 'BORN' ELSE 'MOVED' END
                     WHEN before = 'NOT_REGISTERED' AND after <> 'NOT_REGISTERED'
                         THEN 'REGISTERED'
                     WHEN before = 'INACTIVE' AND after = 'ACTIVE' THEN 'REACTIVATED'
                     WHEN before = 'ACTIVE' AND after = 'INACTIVE'
                         THEN CASE reason {reasons} ELSE 'OTHER_LOSS' END
                     WHEN before <> 'NOT_REGISTERED' AND after = 'NOT_REGISTERED'
                         THEN 'DEREGISTERED'
                     WHEN before_village <> after_village THEN 'MOVED'
                   END AS cause,
                   coalesce(before, ''), coalesce(after, ''), coalesce(segment, '')
            FROM j WHERE village_code IS NOT NULL
              -- A region the previous map did not cover (a district whose registers arrive
              -- now) has no one moving in; one the current map no longer covers, no one leaving.
              AND NOT (before IS NULL
                       AND village_code NOT IN (SELECT DISTINCT village_code FROM p
                                                WHERE village_code IS NOT NULL))
              AND NOT (after IS NULL
                       AND village_code NOT IN (SELECT DISTINCT village_code FROM c
                                                WHERE village_code IS NOT NULL))
            ORDER BY village_code, nik
            """
        ).fetchall()
    finally:
        con.close()


def detect_changes(run) -> int:
    """Store the changes of `run` against the latest earlier map (replacing those of its
    date); returns how many. Nothing happens for the first map."""
    previous = previous_run(run)
    if previous is None or not previous.persons_file.exists():
        return 0
    rows = [r for r in change_rows(run, previous) if r[4] is not None]
    objects = [
        Change(
            as_of=run.as_of,
            previous_as_of=previous.as_of,
            run=run,
            nik=nik,
            kk=kk,
            village_code=village,
            from_village_code=from_village,
            cause=cause,
            status_before=before,
            status_after=after,
            segment=segment,
        )
        for nik, kk, village, from_village, cause, before, after, segment in rows
    ]
    with transaction.atomic():
        Change.objects.unscoped(reason="replacing one date's changes").filter(
            as_of=run.as_of
        ).delete()
        Change.objects.bulk_create(objects, batch_size=2000)
    return len(objects)


def changes_after_map(run) -> int:
    """The churn radar of a map whose statuses are written (`store_indicators` calls it as the
    map stores its figures, in the same transaction): a failure fails the map with its reason,
    rather than leaving a month without its changes unnoticed."""
    if not run.persons_file.exists():
        return 0
    return detect_changes(run)


@dataclass
class ChurnCount:
    cause: str
    label: str
    count: int
    loss: bool


def counts_within(queryset, code: str, as_of: date) -> dict[str, dict[str, int]]:
    """{village_code: {cause: count}} of the changes on `as_of` inside `code`, from a scoped
    queryset of Change (only counts leave it)."""
    qs = queryset.filter(as_of=as_of)
    if code:
        qs = qs.filter(within_q(code, "village_code"))
    out: dict[str, dict[str, int]] = {}
    for row in qs.values("village_code", "cause").annotate(n=Count("id")).order_by():
        out.setdefault(row["village_code"], {})[row["cause"]] = row["n"]
    return out
