"""The WSGI entry point Apache's mod_wsgi loads (/etc/apache2/sites-available/lava-server.conf)."""

import sys

# Django and the libraries Debian 12 lacks, bundled with the package (README.Debian),
# first on the path: mod_wsgi's python-path option would put them last.
sys.path.insert(0, "/usr/lib/lava-server/site-packages")

from lava.server.wsgi import application  # noqa: E402,F401
