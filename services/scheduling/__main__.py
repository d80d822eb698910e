"""`python -m services.scheduling`: run the scheduling service."""

from services.scheduling.app import create_app
from shared.http import run
from shared.settings import ServiceSettings

settings = ServiceSettings.from_env("scheduling")
run(create_app(settings), settings.host, settings.port)
