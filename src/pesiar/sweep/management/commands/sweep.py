from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.sweep.pipeline import SweepError, run_sweep


class Command(BaseCommand):
    help = (
        "Sisir: build or refresh the family worklists (flags, pathway, priority, PBI-APBD "
        "budget) from the map of --as-of (or the latest before) and the social lists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")

    def handle(self, *args, as_of: date, **options) -> None:
        try:
            sweep = run_sweep(as_of, progress=lambda step: self.stderr.write(f"{step} ..."))
        except SweepError as exc:
            raise CommandError(str(exc)) from exc
        say = self.stdout.write
        c = sweep.counts
        note = "" if sweep.link_run.as_of == as_of else f" (latest before {as_of})"
        say(f"map #{sweep.link_run_id} of {sweep.link_run.as_of}{note}")
        lists = ", ".join(f"{k} #{v}" if v else f"{k} -" for k, v in sweep.snapshots.items())
        say(f"registers: {lists}")
        say(
            f"families {c['families']:,} ({c['members']:,} members): new {c['opened']:,}, "
            f"kept {c['kept']:,}, reopened {c['reopened']:,}, kept closed by field work "
            f"{c['kept_closed_by_field']:,}, closed as fully active "
            f"{c['closed_fully_active']:,}, closed as gone from the register "
            f"{c['closed_not_in_register']:,}"
        )
        say("pathways: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c["pathways"].items())))
        say("flags: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c["flags"].items())))
        premium = sweep.config["pbi_premium_monthly"]
        say(
            f"PBI-APBD: {c['pbi_people']:,} people, Rp {c['pbi_yearly_cost']:,} a year "
            f"(Rp {premium:,} per person per month)"
        )
        say("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in sweep.seconds.items()))
        say(self.style.SUCCESS(f"sweep #{sweep.pk} of {as_of} done."))
