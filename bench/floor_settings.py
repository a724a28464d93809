"""The portal's settings with the URLs of bench/floor_urls.py: the portal's own plus the two
reference views ("floor") that bench/ack_throughput.py measures beside the acknowledgement.

gunicorn serves the portal with it (DJANGO_SETTINGS_MODULE=floor_settings, bench/ on
PYTHONPATH), so the floor and the portal share one server, its workers and its middleware;
isms.urls itself stays as deployed. Only for the benchmark, never for a deployment.
"""

from isms.settings import *  # noqa: F403

ROOT_URLCONF = "floor_urls"
