"""What the registers tell the apps above them. Those apps connect in their AppConfig.ready,
so the registers never import them (dependencies point down)."""

from django.dispatch import Signal

# A snapshot is recorded and its folder in place. Sent with `snapshot`. A receiver may
# return a dict of entries for the snapshot's summary ({"reconciliation": {...}}).
snapshot_imported = Signal()
