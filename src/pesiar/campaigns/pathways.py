"""What each pathway means for a family and for the agent: the steps, where to go, what it
costs, and the short advocacy script an agent follows. One home for these texts; the leaflet,
the WhatsApp message and the scripts page all read them from here.

Every script carries the programme's two points: why being *active* matters (a card that is
not active does not pay for treatment), and that nobody should wait until they are sick to
register, reactivate or pay their arrears.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from pesiar.sweep.models import Pathway

# Self-paying (PBPU) premium per person per month, 2024 (Rp), by class.
PBPU_PREMIUM = {1: 150_000, 2: 100_000, 3: 35_000}


@dataclass(frozen=True)
class PathwayGuide:
    title: Promise
    steps: tuple[Promise, ...]
    where: Promise
    cost: Promise
    script: tuple[Promise, ...]


WHY_ACTIVE = _(
    "Only an active card pays for treatment: a card in arrears or switched off does not help "
    "when someone falls ill."
)
DONT_WAIT = _(
    "Do not wait until someone is sick: registering, reactivating or paying arrears takes time, "
    "and care is needed at once."
)

GUIDES: dict[str, PathwayGuide] = {
    Pathway.PBI_APBD: PathwayGuide(
        title=_("Proposal for PBI (premium paid by the government)"),
        steps=(
            _("Ask the village office to propose the family for PBI-APBD."),
            _("The village sends the proposal to Dinsos, which checks the welfare list."),
            _("When approved, the card becomes active; the family pays nothing."),
        ),
        where=_("Village office (kantor desa), then Dinas Sosial"),
        cost=_("Free: the regional government pays the premium."),
        script=(
            _("Explain that the government can pay the family's premium."),
            _("Check the family card and NIK of every member together."),
            _("Agree who goes to the village office, and when."),
        ),
    ),
    Pathway.PBPU: PathwayGuide(
        title=_("Self-paying registration (PBPU, whole family card)"),
        steps=(
            _("Register every member of the family card at once, with the KK and KTP."),
            _("Choose a class and a health centre (FKTP)."),
            _("Pay the first month; the card is active 14 days after registration."),
        ),
        where=_("BPJS Kesehatan branch office, the Pandawa WhatsApp service, or the agent"),
        cost=_(
            "Class 3: Rp 35,000 per person per month; class 2: Rp 100,000; class 1: Rp 150,000."
        ),
        script=(
            _("Ask what the family would do if someone needed hospital care tomorrow."),
            _("Explain the monthly premium per person and the classes."),
            _("Offer to fill in the registration now."),
        ),
    ),
    Pathway.REHAB: PathwayGuide(
        title=_("REHAB: pay the arrears in installments"),
        steps=(
            _("Register for REHAB (Rencana Pembayaran Bertahap) for the months in arrears."),
            _("Pay the installments each month, with the current premium."),
            _("When the arrears are paid, the card is active again."),
        ),
        where=_("BPJS Kesehatan branch office or the Mobile JKN application"),
        cost=_("The arrears, split into up to 12 monthly installments, plus the monthly premium."),
        script=(
            _("Explain that arrears do not go away by waiting: they only grow."),
            _("Show how small a monthly installment is compared with one hospital bill."),
            _("Help the family register for REHAB now."),
        ),
    ),
    Pathway.EMPLOYER: PathwayGuide(
        title=_("Registration by the employer (PPU)"),
        steps=(
            _("The employer must register its workers and their families."),
            _("Ask the employer's staff office to register the family."),
            _("If the employer refuses, report it to the BPJS branch."),
        ),
        where=_("The employer's staff office; the BPJS Kesehatan branch office"),
        cost=_("5% of the wage: the employer pays 4%, the worker 1%."),
        script=(
            _("Explain that the employer is obliged to register the worker's family."),
            _("Write down the employer's name for the branch."),
        ),
    ),
    Pathway.PHK_CONTINUATION: PathwayGuide(
        title=_("Continued coverage after a layoff"),
        steps=(
            _("A laid-off worker keeps coverage for up to six months."),
            _("Before it ends, register as self-paying or ask for PBI."),
        ),
        where=_("BPJS Kesehatan branch office"),
        cost=_("Free for six months; then as self-paying or PBI."),
        script=(
            _("Check the layoff date and when the coverage ends."),
            _("Agree on the next step before it ends."),
        ),
    ),
    Pathway.NIK_FIRST: PathwayGuide(
        title=_("NIK first at Dukcapil"),
        steps=(
            _("A member without a NIK (often a newborn) needs one first."),
            _("Take the family card and birth certificate to Dukcapil."),
            _("Then register the member in the family's segment."),
        ),
        where=_("Dinas Kependudukan dan Pencatatan Sipil (Dukcapil)"),
        cost=_("Free."),
        script=(
            _("Explain that a child without a NIK cannot be registered."),
            _("Help the family get the papers ready for Dukcapil."),
        ),
    ),
    Pathway.DATA_CORRECTION: PathwayGuide(
        title=_("Data correction"),
        steps=(
            _("The records of Dukcapil and BPJS do not agree for this member."),
            _("Bring the KTP and family card to have the data corrected."),
        ),
        where=_("BPJS Kesehatan branch office or Dukcapil"),
        cost=_("Free."),
        script=(_("Check the member's NIK, name and birth date on the KTP."),),
    ),
}


def guide(pathway: str) -> PathwayGuide | None:
    return GUIDES.get(pathway)
