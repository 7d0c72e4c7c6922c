import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esimdesk.settings")
application = get_wsgi_application()
# Import every view and build the API schemas now (in the gunicorn master, which preloads
# the application: see ``esimdesk web``), rather than on a worker's first request: half a
# second on an idle machine, seconds under load, paid by whoever comes first after a deploy
# or a worker restart (the usage benchmark saw one 1.8 s answer per fresh worker). No
# database access happens here: the workers forked from this process open their own.
get_resolver().url_patterns  # noqa: B018
