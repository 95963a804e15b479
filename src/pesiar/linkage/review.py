"""The review band of stage 2: staff decisions applied, the other pairs queued for review.

A decision (same person / different people) is kept by NIK and Noka, so it holds for every
later run that proposes the same pair.
"""

import duckdb

from pesiar.linkage.models import LinkRun, ReviewDecision, ReviewItem


def apply_decisions(con: duckdb.DuckDBPyConnection, run: LinkRun) -> tuple[list, int, int]:
    """For the review pairs of `prob_links`: the (rid, pid, probability) staff accepted
    earlier, how many they rejected, and how many are queued (ReviewItem of `run`)."""
    pairs = con.execute(
        """
        SELECT l.rid, l.pid, l.match_probability, l.band, r.nik, p.noka,
               r.village_code, r.name, r.sex, r.birth_date, r.kk,
               p.nik, p.name, p.sex, p.birth_date, p.kk, p.village_code
        FROM prob_links l JOIN residents r USING (rid) JOIN participants p USING (pid)
        WHERE l.band = 'review'
        """
    ).fetchall()
    decisions = {
        (d.resident_nik, d.noka): d.decision
        for d in ReviewDecision.objects.unscoped(reason="applying decisions in the map").filter(
            noka__in=[p[5] for p in pairs]
        )
    }
    accepted_by_review, rejected_by_review, items = [], 0, []
    for row in pairs:
        rid, pid, probability, _band, nik, noka, village = row[:7]
        decision = decisions.get((nik, noka))
        if decision == ReviewDecision.Decision.ACCEPT:
            accepted_by_review.append((rid, pid, probability))
        elif decision == ReviewDecision.Decision.REJECT:
            rejected_by_review += 1
        else:
            items.append(
                ReviewItem(
                    run=run,
                    village_code=village or "",
                    resident_nik=nik,
                    noka=noka,
                    probability=probability,
                    resident=_record(row[7:11], nik=nik, village=village),
                    participant=_record(row[12:16], nik=row[11], village=row[16]),
                )
            )
    ReviewItem.objects.bulk_create(items, batch_size=1000)
    return accepted_by_review, rejected_by_review, len(items)


def _record(values, *, nik, village) -> dict:
    name, sex, birth, kk = values
    return {
        "nik": nik,
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat() if birth else None,
        "kk": kk,
        "village_code": village,
    }
