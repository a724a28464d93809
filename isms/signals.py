from django.dispatch import Signal

# Sent inside the publishing transaction. Arguments: revision, deadline (a date or None),
# by (the publisher). training opens the acknowledgement campaign from it.
revision_published = Signal()
