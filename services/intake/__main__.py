"""`python -m services.intake`: run the intake service."""

from services.intake.app import create_app
from shared.http import run
from shared.settings import ServiceSettings

settings = ServiceSettings.from_env("intake")
run(create_app(settings), settings.host, settings.port)
