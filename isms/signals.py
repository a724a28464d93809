from django.dispatch import Signal

# Sent inside the publishing transaction. Arguments: revision, deadline (a date or None),
# by (the publisher). acknowledgements opens the acknowledgement campaign from it.
revision_published = Signal()

# Sent at the end of `manage.py seed_demo`. Arguments: departments ({code: Department}) and
# users ({username: User}). Apps add their own demo data from it.
demo_seeded = Signal()
