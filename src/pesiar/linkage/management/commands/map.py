from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.linkage import rates
from pesiar.linkage.pipeline import MapError, MapFailed, run_map


class Command(BaseCommand):
    help = (
        "Petakan: link residents to JKN participants (NIK, then probabilistic) and compute "
        "coverage and activity for every region, for --as-of (or the latest snapshots before)."
    )
    # The project's checks (URLs, templates, admin) are not what the map reads; run
    # `pesiar check` for them. Skipping them saves a second on every map.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--retrain",
            action="store_true",
            help="train the probabilistic model afresh instead of reusing the last one",
        )
        parser.add_argument(
            "--engine",
            choices=("duckdb", "spark"),
            help="where the steps run (default PESIAR_ENGINE, else duckdb)",
        )
        parser.add_argument(
            "--spark-master",
            metavar="URL",
            help="the Spark cluster with --engine spark (default PESIAR_SPARK_MASTER, "
            "else local[2])",
        )

    def handle(
        self,
        *args,
        as_of: date,
        retrain: bool = False,
        engine: str | None = None,
        spark_master: str | None = None,
        **options,
    ) -> None:
        say = self.stdout.write
        try:
            run = run_map(
                as_of,
                progress=lambda step: self.stderr.write(f"{step} ..."),
                retrain=retrain,
                engine=engine,
                spark_master=spark_master,
            )
        except MapFailed as exc:
            raise CommandError(f"map #{exc.run.pk} failed: {exc}") from None
        except MapError as exc:
            raise CommandError(str(exc)) from None
        for label, snapshot in (("population", run.population), ("membership", run.membership)):
            note = "" if snapshot.as_of == as_of else f" (latest before {as_of})"
            say(f"{label}: #{snapshot.pk} of {snapshot.as_of}{note}, {snapshot.source_name}")
        c = run.counts
        say(
            f"residents {c['population']:,} living ({c['residents']:,} in the register); "
            f"participants {c['participants']:,}"
        )
        say(
            f"stage 1, NIK: {c['exact_links']:,} links; {c['nik_matches_disagreeing']:,} NIK "
            "matches left to stage 2 (birth date and name disagree)"
        )
        say(
            f"stage 2, probabilistic: {c['probabilistic_links']:,} links, "
            f"{c['review_pending']:,} pairs to review, "
            f"{c['review_accepted_earlier'] + c['review_rejected_earlier']:,} decided earlier"
        )
        say(
            f"participants without a resident: {c['participants_without_resident']:,}; "
            f"of deceased residents: {c['participants_of_deceased']:,}"
        )
        training = run.parameters.get("training") or {}
        if training:
            say(
                f"model: {training.get('path')}"
                + "".join(f"; {n}" for n in training.get("notes", [])[:3])
            )
        since = training.get("incremental")
        if since:
            say(
                f"stage 2 incremental since map #{since['previous_run']}: "
                f"{since['kept_links']:,} links kept; fresh {since['fresh_residents']:,} "
                f"residents, {since['fresh_participants']:,} participants"
            )
        for line in rates.lines(run.parameters.get("linkage_rates")):
            say(line)
        say(f"indicators for {c['regions']:,} regions")
        say("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items()))
        say(self.style.SUCCESS(f"map #{run.pk} of {as_of} done."))
