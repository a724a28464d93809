from django.dispatch import Signal

# Sent inside the publishing transaction. Arguments: revision, deadline (a date or None),
# by (the publisher). acknowledgements opens the acknowledgement campaign from it.
revision_published = Signal()

# Sent at the end of `manage.py seed_demo`. Arguments: departments ({code: Department}) and
# users ({username: User}). Apps add their own demo data from it.
demo_seeded = Signal()

# Sent inside the transaction of a personnel batch (isms.personnel) after people moved,
# joined or came back. Arguments: moves ([(user id, old unit id or None, new unit id)]),
# on (the effective date), batch. The apps make what follows a move happen: the
# acknowledgements a new audience asks for, the courses a new unit or role calls for.
people_moved = Signal()

# Sent inside the transaction of a reorganisation when `unit` is merged into `successor`.
# Arguments: unit, successor, on, batch, by (the person the records' history names).
# Each receiver passes the unit's open records to the successor and returns
# {label: count} of what it moved, which the units' history keeps.
unit_merged = Signal()
