"""The portal's URLs plus two reference views under /bench-floor/ (bench/floor_settings.py):
the least an authenticated API write costs on this server, against which
bench/ack_throughput.py reads the acknowledgement's figure.

- POST /bench-floor/insert/: the API's token authentication (one SELECT of the token with
  its user), then one INSERT into `bench_floor`, a table bench/ack_throughput.py creates in
  its throw-away database: two statements.
- POST /bench-floor/insert-with-audit/: the same, with an audit event (isms.audit.record) in
  the same transaction as the INSERT, as the acknowledgement writes its own.

Both go through DRF's APIView, the portal's middleware and its JSON renderer, as
POST /api/acknowledgements/ does. Not part of the portal: isms/urls.py does not list them.
"""

from django.db import connection, transaction
from django.urls import path
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from isms import audit
from isms.api.authentication import ApiTokenAuthentication
from isms.models import AuditAction
from isms.urls import handler400, handler403, handler404, handler500
from isms.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def insert_row(user_id):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (user_id) VALUES (%s) RETURNING id", [user_id])
        return cursor.fetchone()[0]


class FloorView(APIView):
    # The class the API's default list starts with, and the one that answers for a token.
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]


class Insert(FloorView):
    def post(self, request):
        row_id = insert_row(request.user.pk)
        return Response({"id": row_id}, status=status.HTTP_201_CREATED)


class InsertWithAudit(FloorView):
    def post(self, request):
        with transaction.atomic():
            row_id = insert_row(request.user.pk)
            # The acknowledgement's own action, so the event is the kind it writes; there is
            # no revision to target.
            audit.record(
                AuditAction.REVISION_ACKNOWLEDGED,
                actor=request.user,
                request=request,
                data={"bench_floor": row_id},
            )
        return Response({"id": row_id}, status=status.HTTP_201_CREATED)


urlpatterns = [
    *portal_urlpatterns,
    path("bench-floor/insert/", Insert.as_view()),
    path("bench-floor/insert-with-audit/", InsertWithAudit.as_view()),
]
