"""`python -m services.reporting`: run the reporting service."""

from services.reporting.app import create_app
from shared.http import run
from shared.settings import ServiceSettings

settings = ServiceSettings.from_env("reporting")
run(create_app(settings), settings.host, settings.port)
