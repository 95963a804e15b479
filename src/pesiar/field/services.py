"""Advokasi and Registrasi: the business rules behind the field pages, the API, ODK and the CLI.

Every function takes the acting user and works inside that user's region scope; submissions
carry a client-generated id, so a retry returns what the first attempt made (`created` False)
instead of making it again. The rules live in one module per section (agents, visits, events,
registrations, batches, kpis; what submissions share in `submissions`); this module hands
them on under one name.
"""

from pesiar.field.agents import agent_villages, get_item, overlaps_scope, worklist_families
from pesiar.field.batches import (
    BATCH_COLUMNS,
    batch_file,
    batch_folder,
    can_make_batches,
    export_batch,
    write_batch_files,
)
from pesiar.field.events import EventInput, record_event
from pesiar.field.kpis import agent_kpis
from pesiar.field.registrations import (
    OPEN_REQUEST_STATUSES,
    RegistrationInput,
    family_from_registers,
    get_registration,
    latest_persons_file,
    latest_population,
    open_request_problems,
    register_family,
    registration_people,
    submit_registration,
    validate_registration,
)
from pesiar.field.submissions import (
    CLIENT_ID,
    FieldError,
    NotFound,
    bump_version,
    field_settings,
    is_conflict,
    new_client_id,
)
from pesiar.field.visits import CLOSED_BY_VISIT, VisitInput, follow_latest_visit, record_visit

__all__ = [
    "BATCH_COLUMNS",
    "CLIENT_ID",
    "CLOSED_BY_VISIT",
    "OPEN_REQUEST_STATUSES",
    "EventInput",
    "FieldError",
    "NotFound",
    "RegistrationInput",
    "VisitInput",
    "agent_kpis",
    "agent_villages",
    "batch_file",
    "batch_folder",
    "bump_version",
    "can_make_batches",
    "export_batch",
    "family_from_registers",
    "field_settings",
    "follow_latest_visit",
    "get_item",
    "get_registration",
    "is_conflict",
    "latest_persons_file",
    "latest_population",
    "new_client_id",
    "open_request_problems",
    "overlaps_scope",
    "record_event",
    "record_visit",
    "register_family",
    "registration_people",
    "submit_registration",
    "validate_registration",
    "worklist_families",
    "write_batch_files",
]
