"""The ASGI app uvicorn imports in each worker, built from the settings in the environment."""

from service.app import create_app
from service.settings import Settings

app = create_app(Settings())
